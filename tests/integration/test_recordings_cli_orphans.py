"""Messages Asterisk recorded while the backend was down are imported at start-up (once), and
`hotline transcribe-pending` / `hotline purge-recordings` work on what is in the database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from app.voicemail import service
from app.voicemail.models import Recording
from tests.conftest import REPO, make_settings, running_app
from tests.integration.test_recordings_queue import (
    MODEL,
    ZH_DEV,
    case_of,
    clip_copy,
    corrupt_wav,
    exists,
    needs_model,
    reference,
    silence_wav,
    store,
)


async def test_orphaned_voicemail_is_imported_once_at_start_up(tmp_path, db_url):
    settings = make_settings(tmp_path, db_url, sandbox_dir=tmp_path / "ast", stt_engine="none")
    orphan = tmp_path / "ast" / "spool" / "orphan-voicemail" / "1764133200.42.wav"
    if ZH_DEV:
        clip_copy(orphan)
    else:
        silence_wav(orphan)
    async with running_app(settings) as (app, _):
        async with app.state.runtime.db.sessionmaker() as s:
            rec = await s.scalar(select(Recording))
        assert rec is not None and rec.source == "orphan" and rec.call_uniqueid == "1764133200.42"
        assert exists(rec.path) and not exists(orphan) and "/orphans/" in rec.path
        _, case, job = await case_of(app, rec.id)
        assert (case.channel, case.status, job.status) == ("voicemail", "intake", "pending")
    async with running_app(settings) as (app, _):  # a restart imports nothing twice
        async with app.state.runtime.db.sessionmaker() as s:
            assert await s.scalar(select(func.count()).select_from(Recording)) == 1


async def test_importing_an_orphan_holds_no_write_lock_while_copying_it(tmp_path, sqlite_url, monkeypatch):
    """The copy (a WAV, fsync'd) runs before the writing session: while it runs, another writer gets the
    SQLite write lock at once (with the copy inside the session, it waited for the copy)."""
    import sqlite3

    from app.voicemail import orphans

    settings = make_settings(tmp_path, sqlite_url, sandbox_dir=tmp_path / "ast", stt_engine="none")
    silence_wav(tmp_path / "ast" / "spool" / "orphan-voicemail" / "1764133200.43.wav")
    copy, during_copy = orphans._copy_durably, []

    def copy_and_write(src: Path, dst: Path) -> None:  # in the worker thread, as the real copy
        other = sqlite3.connect(sqlite_url.split("///", 1)[1], isolation_level=None, timeout=2)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            during_copy.append("written")
        except sqlite3.OperationalError as e:
            during_copy.append(str(e))
        finally:
            other.close()
        copy(src, dst)

    monkeypatch.setattr(orphans, "_copy_durably", copy_and_write)
    async with running_app(settings) as (app, _):
        async with app.state.runtime.db.sessionmaker() as s:
            assert await s.scalar(select(func.count()).select_from(Recording)) == 1
    assert during_copy == ["written"]


def wavs(d: Path | None) -> list[Path]:
    return list(Path(str(d)).rglob("*.wav"))


def _cli(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "HOTLINE_DATABASE_URL": settings.database_url, "HOTLINE_VAR_DIR": str(settings.var_dir),
        "HOTLINE_WHISPER_MODEL_PATH": str(MODEL), "HOTLINE_SESSION_SECRET": "x",
        "HOTLINE_STT_ENGINE": settings.stt_engine,
    }  # fmt: skip
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


@needs_model
async def test_transcribe_pending_cli_runs_every_waiting_message_with_a_progress_bar(tmp_path, sqlite_url):
    settings = make_settings(tmp_path, sqlite_url, stt_engine="none")
    async with running_app(settings) as (app, _):
        good, _ = await store(app, clip_copy(service.recording_path(settings, "a")))
        bad, _ = await store(app, corrupt_wav(service.recording_path(settings, "b")))
    r = _cli(settings, "transcribe-pending")  # stt_engine none: says why, touches nothing
    assert r.returncode == 2 and "no model configured" in r.stderr
    r = _cli(settings, "transcribe-pending", "--engine", "whisper")
    assert r.returncode == 1, r.stderr  # one message is corrupt
    assert "transcribing" in r.stderr and "2/2" in r.stderr and "done=1 failed=1" in r.stdout
    async with running_app(settings) as (app, _):
        rec, case, _ = await case_of(app, good)
        from recordings.stt.metrics import cer

        assert rec.transcript_status == "done" and cer(reference(), rec.transcript or "") < 0.25
        assert (await case_of(app, bad))[1].summary == "语音留言：录音无法识别（文件损坏或为空）"


async def test_purge_recordings_cli_dry_run_counts_only(tmp_path, sqlite_url):
    settings = make_settings(tmp_path, sqlite_url)
    async with running_app(settings) as (app, _):
        await store(app, silence_wav(service.recording_path(settings, "x")))
    r = _cli(settings, "purge-recordings", "--days", "0", "--dry-run")
    assert r.returncode == 0 and "would delete the audio of 1 recording(s)" in r.stdout, r.stderr
    files = wavs(settings.recordings_dir)
    assert len(files) == 1
    r = _cli(settings, "purge-recordings", "--days", "0")
    assert "deleted the audio of 1 recording(s)" in r.stdout and not exists(files[0])
