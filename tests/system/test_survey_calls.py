"""Satisfaction call-backs (回访) through the real sandbox Asterisk: the scheduler originates the
simulated citizen (hotline-sim-callee), the survey FastAGI route reads DTMF, and the rating lands on
the case; no answer / hang-up / invalid digits follow the retry schedule."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import running_app
from tests.integration.test_cases_helpers import World, seed, write_rules
from tests.system.conftest import backend_settings, write_config

DIAL = "Local/{number}@hotline-sim-callee/n"


def survey_rules(var_dir: Path, sim: dict[str, str], **kw: Any) -> None:
    data = {
        "dial": DIAL,
        "call_start": "00:00",  # the whole day: tests do not depend on the clock
        "call_end": "00:00",
        "tick_s": 0.3,
        "retry_interval_s": 2,
        "max_attempts": 3,
        "originate_timeout_s": 4,
        "outbound_limit": {"*": 4},
        "sim_vars": sim,
        **kw,
    }
    var_dir.mkdir(parents=True, exist_ok=True)
    (var_dir / "survey_rules.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")


@asynccontextmanager
async def survey_world(tmp_path: Path, db_url: str, asterisk: Any, sim: dict[str, str], **rules: Any):
    settings = backend_settings(tmp_path, db_url, asterisk, platform_config=write_config(tmp_path))
    write_rules(settings.var_dir)  # case sweep off
    survey_rules(settings.var_dir, sim, **rules)
    async with running_app(settings) as (app, client):
        yield World(app, client, await seed(app, client))


async def fed_back_case(w: World, phone: str) -> str:
    """A case taken, dispatched, signed, replied by the unit and fed back to the citizen (反馈)."""
    n = (await w.create(citizen_phone=phone))["case"]["number"]
    await w.act("km.agent", n, "dispatch", unit_code="km-water")
    await w.act("water.h", n, "sign")
    await w.act("water.h", n, "reply", note="已恢复供水")
    c = await w.act("km.agent", n, "feedback")
    assert c["status"] == "fed_back"
    return n


async def survey_of(w: World, number: str) -> dict[str, Any]:
    r = await w.client.get("/api/surveys", params={"case": number}, headers=w.h["km.agent"])
    assert r.status_code == 200, r.text
    rows = r.json()
    return rows[0] if rows else {}


async def wait_survey(w: World, number: str, pred: Any, timeout: float = 60) -> dict[str, Any]:
    end = time.monotonic() + timeout
    s: dict[str, Any] = {}
    while time.monotonic() < end:
        s = await survey_of(w, number)
        if s and pred(s):
            return s
        await asyncio.sleep(0.2)
    raise AssertionError(f"survey of {number} never got there: {s}")


async def test_ratings_1_2_3_are_stored_on_the_case_and_3_reopens_it(tmp_path, db_url, asterisk):
    phones = {"13900000001": 1, "13900000002": 2, "13900000003": 3}
    sim = {p: f"SIM_WAIT=1,SIM_DTMF={d},SIM_HOLD=15" for p, d in phones.items()}
    async with survey_world(tmp_path, db_url, asterisk, sim) as w:
        numbers = {p: await fed_back_case(w, p) for p in phones}
        for phone, n in numbers.items():
            s = await wait_survey(w, n, lambda s: s["status"] == "done")
            assert s["rating"] == phones[phone]
            # the simulated citizen presses 1 s after answering; on a loaded machine that can come before
            # the prompt's Read starts, and the survey calls again as it should: every earlier attempt is
            # a 'no_digit' retry, the last one is the rating
            calls = [(c["n"], c["outcome"], c["digits"]) for c in s["calls"]]
            assert calls[-1] == (len(calls), "rated", str(phones[phone])), calls
            assert all(outcome == "no_digit" for _, outcome, _ in calls[:-1]), calls
        km = w.h["km.agent"]
        c1 = (await w.client.get(f"/api/cases/{numbers['13900000001']}", headers=km)).json()
        c2 = (await w.client.get(f"/api/cases/{numbers['13900000002']}", headers=km)).json()
        c3 = (await w.client.get(f"/api/cases/{numbers['13900000003']}", headers=km)).json()
        assert (c1["status"], c1["rating"]) == ("visited", 1)
        assert (c2["status"], c2["rating"]) == ("visited", 2)
        assert (c3["status"], c3["rating"]) == ("reopened", 3)  # 不满意: back to the office for review
        rate = next(e for e in c1["events"] if e["action"] == "rate")
        assert rate["actor_name"] == "system" and "按键 1（满意）" in rate["note"]
        reopen = c3["events"][-1]
        assert reopen["action"] == "reopen" and "市民不满意" in reopen["note"]  # the audit says why
        # the wallboard counts them: 2 of 3 satisfied
        r = await w.client.get("/api/stats/kpis", headers=w.h["km.sup"])
        sat = r.json()["satisfaction"]
        assert (sat["rated"], sat["satisfied"], sat["basically_satisfied"], sat["dissatisfied"]) == (
            3,
            1,
            1,
            1,
        )
        assert abs(sat["rate"] - 2 / 3) < 0.001


async def test_invalid_digit_is_reprompted_once_then_the_valid_digit_is_stored(
    tmp_path, sqlite_url, asterisk
):
    sim = {"13900000009": "SIM_WAIT=1,SIM_DTMF=9wwww2,SIM_HOLD=20"}
    async with survey_world(tmp_path, sqlite_url, asterisk, sim) as w:
        n = await fed_back_case(w, "13900000009")
        s = await wait_survey(w, n, lambda s: s["status"] == "done")
        assert s["rating"] == 2 and s["calls"][0]["digits"] == "92"  # 9 refused, re-prompted, then 2
        c = (await w.client.get(f"/api/cases/{n}", headers=w.h["km.agent"])).json()
        assert (c["status"], c["rating"]) == ("visited", 2)


async def test_citizen_hanging_up_mid_prompt_is_no_digit_and_retried(tmp_path, sqlite_url, asterisk):
    sim = {"13900000004": "SIM_HOLD=2"}  # answers, says nothing, hangs up during the intro
    async with survey_world(tmp_path, sqlite_url, asterisk, sim, retry_interval_s=3) as w:
        n = await fed_back_case(w, "13900000004")
        s = await wait_survey(w, n, lambda s: s["attempts"] >= 2 and s["calls"][0]["ended_at"])
        first = s["calls"][0]
        assert first["outcome"] == "no_digit" and first["outcome_label"] == "未按键"
        assert "挂机" in first["detail"]
        c = (await w.client.get(f"/api/cases/{n}", headers=w.h["km.agent"])).json()
        assert c["status"] == "fed_back" and c["rating"] is None  # nothing stored without a digit


async def test_no_answer_is_retried_then_handed_to_the_agents_call_back_list(tmp_path, sqlite_url, asterisk):
    sim = {"13900000005": "SIM_MODE=noanswer", "13900000006": "SIM_MODE=busy"}
    async with survey_world(tmp_path, sqlite_url, asterisk, sim, originate_timeout_s=2) as w:
        n5 = await fed_back_case(w, "13900000005")
        n6 = await fed_back_case(w, "13900000006")
        s5 = await wait_survey(w, n5, lambda s: s["status"] == "handed_over", timeout=60)
        assert [c["outcome"] for c in s5["calls"]] == ["no_answer"] * 3
        starts = [c["started_at"] for c in s5["calls"]]
        assert starts == sorted(starts) and len(set(starts)) == 3
        s6 = await wait_survey(w, n6, lambda s: s["status"] == "handed_over", timeout=60)
        assert [c["outcome_label"] for c in s6["calls"]] == ["忙线"] * 3
        # the agent's call-back list shows both, with why
        r = await w.client.get("/api/callbacks", headers=w.h["km.agent"])
        tasks = {t["case_number"]: t for t in r.json() if t["kind"] == "survey"}
        assert set(tasks) == {n5, n6}
        assert tasks[n5]["number"] == "13900000005" and tasks[n5]["kind_label"] == "回访未成功"
        assert "3 次回访未成功" in tasks[n5]["reason"] and "无人接听" in tasks[n5]["reason"]
        # the agent reaches the citizen by hand and records it: it leaves the open list
        r = await w.client.post(
            f"/api/callbacks/{tasks[n5]['id']}/outcome",
            json={"outcome": "reached", "note": "市民表示满意"},
            headers=w.h["km.agent"],
        )
        assert r.status_code == 200 and r.json()["outcome_label"] == "已联系上"
        r = await w.client.get("/api/callbacks", headers=w.h["km.agent"])
        assert [t["case_number"] for t in r.json() if t["kind"] == "survey"] == [n6]
