"""/metrics: who may read it, and that its figures move with what happens — AMI events fed through
the real consumer (calls routed, answered after a wait, abandoned, ended) and rows in the database
(transcription jobs, outbox backlog, today's answer rate). SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.telephony.lifecycle import TELEPHONY
from app.voicemail.component import TRANSCRIPTION
from tests.conftest import add_user, login, make_settings, running_app
from tests.integration.test_recordings_queue import clip_copy, needs_model, store, whisper_settings
from tests.metrics_text import samples, total

TOKEN = "prometheus-scrape-token-0123456789"


def _call_events(uid: str, queue: str, caller: str) -> list[dict[str, str]]:
    return [
        {"Event": "UserEvent", "UserEvent": "HotlineRoute", "Uniqueid": uid, "Linkedid": uid, "Route": "queue",
         "Queue": queue, "AgiMs": "3.1", "Caller": caller},
        {"Event": "QueueCallerJoin", "Queue": queue, "Uniqueid": uid, "Linkedid": uid, "CallerIDNum": caller,
         "Position": "1", "Count": "1"},
    ]  # fmt: skip


async def test_metrics_access(tmp_path, sqlite_url):
    async with running_app(make_settings(tmp_path, sqlite_url, metrics_token=TOKEN)) as (app, client):
        assert (await client.get("/metrics")).status_code == 401
        bad = await client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        assert bad.status_code == 401
        await add_user(app, "li.agent", "agent", platform="kunming")
        await add_user(app, "root.admin", "admin")
        assert (await client.get("/metrics", headers=await login(client, "li.agent"))).status_code == 403
        ok = await client.get("/metrics", headers=await login(client, "root.admin"))
        assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/plain")
        r = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200
        assert "hotline_agi_request_seconds" in r.text and "hotline_jobs" in r.text
    # without a configured token, a bearer token is an ordinary (invalid) session token
    async with running_app(make_settings(tmp_path / "b", sqlite_url.replace(".db", "2.db"))) as (_a, client):
        assert (await client.get("/metrics", headers={"Authorization": "Bearer "})).status_code == 401


async def test_metrics_move_with_calls_and_jobs(tmp_path, db_url):
    from app.outbox.models import OutboxMessage
    from app.voicemail.models import Recording, TranscriptionJob

    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with running_app(make_settings(tmp_path, db_url, metrics_token=TOKEN)) as (app, client):
        before = samples((await client.get("/metrics", headers=auth)).text)
        tel = app.state.runtime.require(TELEPHONY)
        feed = tel.consumer.feed
        for ev in _call_events("1700000000.11", "q-kunming", "13987112345"):
            feed("main", ev)
        for ev in _call_events("1700000000.12", "q-kunming", "13987112346"):
            feed("main", ev)
        feed("main", {"Event": "AgentConnect", "Queue": "q-kunming", "Uniqueid": "1700000000.11",
                      "Linkedid": "1700000000.11", "MemberName": "li", "Interface": "PJSIP/agent-1001",
                      "HoldTime": "7", "RingTime": "2"})  # fmt: skip
        feed("main", {"Event": "QueueCallerAbandon", "Queue": "q-kunming", "Uniqueid": "1700000000.12",
                      "HoldTime": "25", "Position": "1", "OriginalPosition": "1"})  # fmt: skip
        for uid in ("1700000000.11", "1700000000.12"):
            feed(
                "main", {"Event": "Hangup", "Uniqueid": uid, "Linkedid": uid, "Cause-txt": "Normal Clearing"}
            )
        await tel.consumer.drained()
        # the settings find a model, so a transcription worker runs: stop it, or it may claim the job
        # before the scrape and the pending gauge reads 0 (seen on a quiet machine)
        worker = app.state.runtime.get(TRANSCRIPTION)
        if worker is not None:
            await worker.stop()
        async with app.state.runtime.db.sessionmaker() as s:
            rec = Recording(path=str(tmp_path / "vm.wav"), sha256="0" * 64, platform="kunming")
            s.add(rec)
            await s.flush()
            s.add(TranscriptionJob(recording_id=rec.id))
            s.add(OutboxMessage(channel="sms", recipient="13987112345", body="您的工单已受理",
                                created_at=datetime.now(UTC) - timedelta(minutes=5)))  # fmt: skip
            await s.commit()
        after = samples((await client.get("/metrics", headers=auth)).text)

    def delta(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert delta("hotline_calls_total", route="queue") == 2
    assert delta("hotline_queue_answered_total", queue="q-kunming") == 1
    assert delta("hotline_queue_abandoned_total", queue="q-kunming") == 1
    assert delta("hotline_queue_wait_seconds_count", queue="q-kunming") == 2
    assert delta("hotline_queue_wait_seconds_sum", queue="q-kunming", result="answered") == 7
    assert delta("hotline_queue_wait_seconds_sum", queue="q-kunming", result="abandoned") == 25
    # the 7-s wait is in the 10-s bucket, not in the 5-s one
    assert delta("hotline_queue_wait_seconds_bucket", queue="q-kunming", result="answered", le="10.0") == 1
    assert delta("hotline_queue_wait_seconds_bucket", queue="q-kunming", result="answered", le="5.0") == 0
    assert delta("hotline_calls_ended_total") == 2
    assert total(after, "hotline_calls_offered_today") == 2
    assert total(after, "hotline_calls_answered_today") == 1
    assert total(after, "hotline_answer_rate_today") == 0.5
    assert total(after, "hotline_jobs", queue="transcription", status="pending") == 1
    assert total(after, "hotline_jobs", queue="outbox", status="pending") == 1
    assert total(after, "hotline_outbox_backlog", channel="sms") == 1
    assert 290 < total(after, "hotline_outbox_oldest_pending_seconds") < 3600
    assert total(before, "hotline_outbox_oldest_pending_seconds") == 0


@needs_model
async def test_transcription_time_and_job_depth_follow_a_real_transcription(tmp_path, sqlite_url):
    """A real voicemail clip through the real Whisper worker: the pending job shows in hotline_jobs,
    then the transcription histogram counts one done message and the job is done."""
    from app.voicemail import service as rec_service

    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with running_app(whisper_settings(tmp_path, sqlite_url, metrics_token=TOKEN)) as (app, client):
        worker = app.state.runtime.require(TRANSCRIPTION)
        await worker.stop()  # driven by hand so the pending state can be seen
        before = samples((await client.get("/metrics", headers=auth)).text)
        await store(app, clip_copy(rec_service.recording_path(app.state.runtime.settings, "m1")))
        pending = samples((await client.get("/metrics", headers=auth)).text)
        assert total(pending, "hotline_jobs", queue="transcription", status="pending") == 1
        assert await worker.run_until_idle() == 1
        after = samples((await client.get("/metrics", headers=auth)).text)
    count = "hotline_transcription_seconds_count"
    done = {"engine": "whisper", "status": "done"}  # earlier tests in this process may have failed ones
    assert total(after, count, **done) - total(before, count, **done) == 1
    spent = total(after, "hotline_transcription_seconds_sum") - total(
        before, "hotline_transcription_seconds_sum"
    )
    assert spent > 0
    assert total(after, "hotline_jobs", queue="transcription", status="pending") == 0
    assert total(after, "hotline_jobs", queue="transcription", status="done") == 1
