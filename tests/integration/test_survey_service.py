"""Survey scheduling, claiming under the outbound limit, outcomes and hand-over, and the call-back list,
on SQLite and PostgreSQL (no Asterisk: the service functions the scheduler and the AGI route call)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.callbacks.models import Callback
from app.calls.models import Call
from app.db import utcnow
from app.surveys import models as m
from app.surveys import service
from app.surveys.models import CallbackTask, Survey, SurveyAttempt
from app.surveys.rules import SurveyRules
from tests.integration.test_cases_helpers import world
from tests.system.test_survey_calls import fed_back_case, survey_rules

SH = ZoneInfo("Asia/Shanghai")


async def test_schedule_claim_limit_outcomes_and_hand_over(tmp_path, db_url):
    rules = SurveyRules(
        call_start="00:00", call_end="00:00", retry_interval_s=60, max_attempts=2, outbound_limit={"*": 2}
    )
    calling = rules.calling(SH)
    survey_rules(tmp_path / "var", {}, tick_s=0)  # the background scheduler stays off
    async with world(tmp_path, db_url) as w:
        numbers = [await fed_back_case(w, f"1390000100{i}") for i in range(3)]
        now = utcnow()
        async with w.session() as s:
            assert await service.schedule_fed_back(s, calling, now) == 3
            assert await service.schedule_fed_back(s, calling, now) == 0  # one survey per case
            await s.commit()
        async with w.session() as s:
            # an agent's call-back already in flight on kunming takes one of the two slots
            s.add(
                Callback(
                    channel_id="hl-out-x",
                    call_uniqueid="u",
                    number="1",
                    platform="kunming",
                    agent="a",
                    interface="PJSIP/a",
                    requested_by="a",
                    status="dialing",
                )
            )
            claimed = await service.claim_due(s, rules, now)
            await s.commit()
        assert len(claimed) == 1  # never more than the limit
        async with w.session() as s:
            assert await service.claim_due(s, rules, now) == []  # the slot is still taken
            assert (await service.live_outbound(s, now))["kunming"] == 2
            await s.rollback()
        first = claimed[0]
        async with w.session() as s:
            evs = await service.finish_attempt(
                s, first.channel_id, m.RATED, rules, calling, now, rating=3, digits="3"
            )
            await s.commit()
        assert [e.data["action"] for e in evs if e.topic == "case.transition"] == ["rate", "reopen"]
        async with w.session() as s:  # reported twice (AGI and Hangup): applied once
            assert await service.finish_attempt(s, first.channel_id, m.NO_DIGIT, rules, calling, now) == []
            await s.commit()
        c = await w.get("km.agent", first.case_number)
        assert (c["status"], c["rating"]) == ("reopened", 3)

        # the other two: no answer twice → handed over to the call-back list
        async with w.session() as s:
            cb = await s.scalar(select(Callback))
            assert cb is not None
            cb.status = "done"  # the agent's call ended: its slot is free again
            await s.commit()
        t = now
        for attempt in (1, 2):
            async with w.session() as s:
                both = await service.claim_due(s, rules, t)
                await s.commit()
            assert [c.n for c in both] == [attempt, attempt]
            for cl in both:
                async with w.session() as s:
                    await service.finish_attempt(s, cl.channel_id, m.NO_ANSWER, rules, calling, t)
                    await s.commit()
                    survey = await s.get(Survey, cl.survey_id)
                    assert survey is not None
                    if attempt == 1:
                        assert survey.status == m.SCHEDULED and survey.next_at == t + timedelta(seconds=60)
                    else:
                        assert survey.status == m.HANDED_OVER and survey.next_at is None
            t += timedelta(seconds=61)
        async with w.session() as s:
            tasks = list(await s.scalars(select(CallbackTask).where(CallbackTask.kind == m.SURVEY)))
            assert sorted(x.case_number or "" for x in tasks) == sorted(numbers[1:])
            assert all("2 次回访未成功" in (x.reason or "") for x in tasks)

        # a lost report: the lease runs out, the attempt fails and is retried
        await fed_back_case(w, "13900001009")
        async with w.session() as s:
            await service.schedule_fed_back(s, calling, t)
            (lost,) = await service.claim_due(s, rules, t)
            await s.commit()
        async with w.session() as s:
            await service.expire_leases(s, rules, calling, t + timedelta(seconds=rules.lease_s + 1))
            await s.commit()
            att = await s.scalar(select(SurveyAttempt).where(SurveyAttempt.channel_id == lost.channel_id))
            assert att is not None and att.outcome == m.FAILED and att.detail == "呼叫结果未返回"
            survey = await s.get(Survey, lost.survey_id)
            assert survey is not None and survey.status == m.SCHEDULED


async def test_call_back_list_has_missed_calls_and_voicemails_once(tmp_path, db_url):
    survey_rules(tmp_path / "var", {}, tick_s=0)
    async with world(tmp_path, db_url) as w:
        now = utcnow()
        async with w.session() as s:
            s.add_all(
                [
                    Call(
                        uniqueid="ab1",
                        caller="13987112345",
                        platform="kunming",
                        outcome="abandoned",
                        arrived_at=now,
                    ),
                    Call(
                        uniqueid="vm1",
                        caller="13987154321",
                        platform="kunming",
                        outcome="voicemail",
                        route="voicemail",
                        arrived_at=now,
                    ),
                    Call(
                        uniqueid="ok1",
                        caller="13987100000",
                        platform="kunming",
                        outcome="completed",
                        arrived_at=now,
                    ),
                    Call(
                        uniqueid="dl1",
                        caller="13987200000",
                        platform="dali",
                        outcome="abandoned",
                        arrived_at=now,
                    ),
                    Call(
                        uniqueid="old",
                        caller="13987100001",
                        platform="kunming",
                        outcome="abandoned",
                        arrived_at=now - timedelta(days=30),
                    ),
                ]
            )
            await s.commit()
        for _ in range(2):  # listing twice adds nothing twice
            r = await w.client.get("/api/callbacks", headers=w.h["km.agent"])
            assert r.status_code == 200
            rows = r.json()
            assert sorted((t["kind_label"], t["number"]) for t in rows) == [
                ("未接来电", "13987112345"),
                ("留言", "13987154321"),
            ]  # kunming's agent: not Dali's, not a month old, not answered calls
        r = await w.client.get("/api/callbacks", headers=w.h["dl.agent"])
        assert [t["number"] for t in r.json()] == ["13987200000"]
        task = rows[0]
        r = await w.client.post(
            f"/api/callbacks/{task['id']}/outcome", json={"outcome": "maybe"}, headers=w.h["km.agent"]
        )
        assert r.status_code == 422
        r = await w.client.post(
            f"/api/callbacks/{task['id']}/outcome",
            json={"outcome": "wrong_number", "note": "空号"},
            headers=w.h["km.agent"],
        )
        assert r.status_code == 200 and r.json()["outcome_label"] == "号码错误"
        r = await w.client.post(f"/api/callbacks/{task['id']}/dial", headers=w.h["km.agent"])
        assert r.status_code == 409  # already done
        r = await w.client.get("/api/callbacks?include_done=true", headers=w.h["km.agent"])
        done = [t for t in r.json() if t["status"] == "done"]
        assert [(t["outcome"], t["note"], t["agent"]) for t in done] == [("wrong_number", "空号", "km.agent")]


async def test_callback_list_has_one_row_per_citizen_with_the_missed_calls_times(tmp_path, sqlite_url):
    """The same citizen missed three times: one row, the three times of the calls (not the time the
    list was made), and one outcome closes them all; a simulated call is on no list."""
    async with world(tmp_path, sqlite_url) as w:
        now = utcnow()
        times = [now - timedelta(hours=h) for h in (5, 3, 1)]
        async with w.session() as s:
            s.add_all(
                [Call(uniqueid=f"m{i}", caller="13987112345", platform="kunming", outcome="abandoned", arrived_at=t)
                 for i, t in enumerate(times)]
                + [Call(uniqueid="other", caller="13987154321", platform="kunming", outcome="abandoned",
                        arrived_at=now - timedelta(hours=2)),
                   Call(uniqueid="sim-x-in", caller="13987100009", platform="kunming", outcome="abandoned",
                        arrived_at=now, is_test=True)]
            )  # fmt: skip
            await s.commit()
        rows = (await w.client.get("/api/callbacks", headers=w.h["km.agent"])).json()
        assert [(t["number"], t["entries"]) for t in rows] == [("13987112345", 3), ("13987154321", 1)]
        shown = [datetime.fromisoformat(x) for x in rows[0]["times"]]
        assert shown == sorted(times, reverse=True)  # the calls' own times, latest first
        r = await w.client.post(
            f"/api/callbacks/{rows[0]['id']}/outcome", json={"outcome": "reached"}, headers=w.h["km.agent"]
        )
        assert r.status_code == 200
        rows = (await w.client.get("/api/callbacks", headers=w.h["km.agent"])).json()
        assert [t["number"] for t in rows] == ["13987154321"]
        async with w.session() as s:
            done = list(await s.scalars(select(CallbackTask).where(CallbackTask.status == "done")))
        assert sorted(t.ref for t in done) == ["m0", "m1", "m2"] and {t.outcome for t in done} == {"reached"}
