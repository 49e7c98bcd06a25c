"""A transcription worker (a separate process) SIGKILLed mid-job: nothing is lost, a restarted worker
takes the job over once the lease expires, and the case gets its transcript exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from app.voicemail import service
from app.voicemail.component import TRANSCRIPTION
from app.voicemail.models import TranscriptionJob
from tests.conftest import REPO, running_app
from tests.integration.test_recordings_queue import ZH_DEV, case_of, needs_model, store, whisper_settings
from tests.waiting import wait_until

pytestmark = [needs_model, pytest.mark.needs("tools")]


def long_message(dst: Path) -> Path:
    """~100 s of real Mandarin (every zh-dev clip, twice): long enough to kill the worker mid-job."""
    assert ZH_DEV is not None
    clips = sorted(str(p) for p in (ZH_DEV / "8k").glob("*.wav"))
    dst.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["sox", *clips, *clips, str(dst)], check=True)
    return dst


def start_worker(settings, log: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "HOTLINE_DATABASE_URL": settings.database_url, "HOTLINE_VAR_DIR": str(settings.var_dir),
        "HOTLINE_STT_ENGINE": "whisper", "HOTLINE_WHISPER_MODEL_PATH": str(settings.whisper_model_path),
        "HOTLINE_SESSION_SECRET": "x", "HOTLINE_STT_THREADS": "2",
    }  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "app.voicemail.worker", "--lease-s", "3", "--poll-s", "0.3"],
        cwd=REPO, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip


async def job_state(app, rec_id: int) -> TranscriptionJob:
    async with app.state.runtime.db.sessionmaker() as s:
        job = await s.scalar(select(TranscriptionJob).where(TranscriptionJob.recording_id == rec_id))
        assert job is not None
        return job


async def test_worker_killed_mid_job_is_retried_and_the_case_gets_its_transcript_once(tmp_path, db_url):
    settings = whisper_settings(tmp_path, db_url)
    log = tmp_path / "worker.log"
    async with running_app(settings) as (app, _):
        await app.state.runtime.require(TRANSCRIPTION).stop()  # only the subprocesses work here
        rec_id, _ = await store(app, long_message(service.recording_path(settings, "long")))
        first = start_worker(settings, log)
        try:
            # killed while busy on the job: claimed (running) AND its lease renewed by the heartbeat that
            # runs only while the engine transcribes. No fixed sleep: a fast machine cannot finish first,
            # a slow one cannot be killed before it claimed.
            async def busy() -> TranscriptionJob | None:
                assert first.poll() is None, f"worker exited early: {log.read_text()}"
                job = await job_state(app, rec_id)
                return job if job.status == "running" and job.heartbeat_at > job.updated_at else None

            await wait_until(busy, 120, "the worker to claim the job and renew its lease mid-transcription",
                             describe=log.read_text)  # fmt: skip
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        finally:
            if first.poll() is None:
                first.kill()
        job = await job_state(app, rec_id)
        rec, case, _ = await case_of(app, rec_id)
        assert (job.status, job.attempts, job.lease_owner is not None) == ("running", 1, True), (
            log.read_text()
        )
        assert rec.transcript is None and case.summary == "语音留言（转写中）"  # killed before writing

        second = start_worker(settings, log)
        try:

            async def done() -> bool:
                assert second.poll() is None, f"worker exited early: {log.read_text()}"
                return (await job_state(app, rec_id)).status == "done"

            await wait_until(done, 300, "the restarted worker to take the job over and finish it",
                             interval=0.3, describe=log.read_text)  # fmt: skip
        finally:
            second.terminate()
            try:
                second.wait(10)
            except subprocess.TimeoutExpired:
                second.kill()
        job = await job_state(app, rec_id)
        rec, case, _ = await case_of(app, rec_id)
        assert (job.status, job.attempts, job.lease_owner) == ("done", 2, None)
        assert rec.transcript and len(rec.transcript) > 100
        assert case.detail.count(rec.transcript) == 1 and case.summary.startswith("语音留言：")
        assert case.detail.count("语音留言自动转写") == 1
