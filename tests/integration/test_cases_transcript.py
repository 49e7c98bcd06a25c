"""A transcript reaches its case through the cases service: summary and detail change, an audit row
says who wrote it, the status stays, the case.updated event is published after commit, and the
audit log still replays to the status."""

from __future__ import annotations

from sqlalchemy import select

from app.cases import service
from app.cases import workflow as wf
from app.cases.models import Case
from app.events import commit_and_publish
from tests.integration.test_cases_helpers import world


async def test_attach_transcript_writes_case_audit_and_event(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        seen: list[tuple[str, str, str | None]] = []

        async def on_event(ev):
            async with w.session() as s:  # committed before anyone hears of it
                case = await s.scalar(select(Case).where(Case.number == ev.data["number"]))
                seen.append((ev.topic, ev.data["action"], case.summary if case else None))

        w.runtime.hub.subscribe("case.updated", on_event)
        n = (await w.create())["case"]["number"]
        await w.act("km.agent", n, "dispatch", unit_code="km-water")
        async with w.session() as s:
            case = await service.get_by_number(s, n)
            assert case is not None
            events = await service.attach_transcript(
                s, case, text="来电留言：小区停水三天，请尽快处理。", summary="【留言】小区停水三天"
            )
            await commit_and_publish(s, w.runtime.hub, events)
        assert seen == [("case.updated", "transcript", "【留言】小区停水三天")]

        body = await w.get("km.agent", n)
        assert body["status"] == "dispatched"
        assert body["summary"] == "【留言】小区停水三天"
        assert body["detail"] == "来电留言：小区停水三天，请尽快处理。"
        last = body["events"][-1]
        assert (last["action"], last["action_label"], last["actor_name"]) == (
            "transcript",
            "留言转写",
            "system:transcription",
        )
        assert last["from_status"] == last["to_status"] == "dispatched"
        log = [(e["from_status"], e["action"], e["to_status"]) for e in body["events"][1:]]
        assert wf.replay(wf.INTAKE, log) == "dispatched"
        # the unit keeps working on it: the annotation did not disturb the workflow
        await w.act("water.h", n, "sign")
