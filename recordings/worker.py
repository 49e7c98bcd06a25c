"""The transcription worker: claims one job at a time with a lease, runs the engine in a thread,
keeps the lease alive by heartbeat, and writes the outcome with a compare-and-set (see service).

Runs inside the service (``transcription`` starter in app.lifecycle) or alone:
``python -m recordings.worker [--once] [--lease-s 30]`` (settings from HOTLINE_* env), several at
once on PostgreSQL. A worker killed mid-job loses nothing: the lease expires and another takes it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.db import Database
from app.events import Event
from app.health.router import EXTRA_CHECKS
from recordings import service
from recordings.models import Recording
from recordings.stt import AudioError, EngineUnavailable, SpeechEngine, make_engine

if TYPE_CHECKING:
    from app.events import EventHub
    from app.runtime import Runtime
    from app.settings import Settings

log = logging.getLogger(__name__)
LEASE_S = 30.0
POLL_S = 2.0


class TranscriptionWorker:
    def __init__(
        self, db: Database, settings: Settings, *, hub: EventHub | None = None, lease_s: float = LEASE_S,
        poll_s: float = POLL_S, engine: SpeechEngine | None = None,
    ) -> None:  # fmt: skip
        self.db, self.settings, self.hub = db, settings, hub
        self.lease_s, self.poll_s = lease_s, poll_s
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.problem: str | None = None
        self.engine = engine
        if engine is None:
            self.problem = service.engine_problem(settings)
            if self.problem is None:
                self.engine = make_engine(
                    settings.stt_engine,
                    whisper_model_path=settings.whisper_model_path,
                    vosk_model_path=settings.vosk_model_path,
                    threads=settings.stt_threads,
                )
        self.wake = asyncio.Event()
        self.processed = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self.engine is not None and self.problem is None

    def kick(self) -> None:
        """A new job was committed: look now instead of at the next poll."""
        self.wake.set()

    async def _heartbeat(self, job_id: int, attempt: int) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            async with self.db.sessionmaker() as s:
                ok = await service.heartbeat(s, job_id, self.owner, attempt, self.lease_s)
                await s.commit()
            if not ok:
                log.warning("transcription job %s: lease lost", job_id)
                return

    async def run_one(self) -> bool:
        """Claim and run one job. False when nothing was claimable (or no engine)."""
        if not self.ready:
            return False
        assert self.engine is not None
        async with self.db.sessionmaker() as s:
            job = await service.claim(s, self.owner, self.lease_s)
            rec = await s.get(Recording, job.recording_id) if job is not None else None
            await s.commit()
        if job is None:
            return False
        attempt = job.attempts
        path = Path(rec.path) if rec is not None else Path("/nonexistent")
        hb = asyncio.create_task(self._heartbeat(job.id, attempt))
        tr, error = None, None
        try:
            tr = await asyncio.to_thread(self.engine.transcribe, path)
        except AudioError as e:
            error = f"录音文件无法读取: {e}"
        except EngineUnavailable as e:
            self.problem = f"{service.NO_MODEL}: {e}"
            async with self.db.sessionmaker() as s:
                await service.release(s, job, attempt, str(e), count_attempt=False)
                await service.mark_waiting_for_model(s, self.problem)
                await s.commit()
            return True
        except Exception as e:  # noqa: BLE001 - any engine crash: retried, then failed; never blocks
            log.exception("transcription job %s failed", job.id)
            async with self.db.sessionmaker() as s:
                await service.release(s, job, attempt, f"{type(e).__name__}: {e}", count_attempt=True)
                await s.commit()
            return True
        finally:
            hb.cancel()
            with suppress(asyncio.CancelledError):
                await hb
        async with self.db.sessionmaker() as s:
            ok = await service.finish(s, job, attempt, tr, error)
            await s.commit()
        if ok:
            self.processed += 1
            rec_status = "failed" if tr is None else ("done" if tr.text.strip() else "empty")
            log.info("recording %s transcribed: %s", job.recording_id, rec_status)
            if self.hub is not None:
                await self.hub.publish(Event("voicemail.transcribed", {
                    "recording_id": job.recording_id, "status": rec_status,
                    "platform": rec.platform if rec is not None else None,
                }))  # fmt: skip
        else:
            log.warning("transcription job %s: another worker owns it now; result dropped", job.id)
        return True

    async def run_until_idle(self, progress: Callable[[], Any] | None = None) -> int:
        n = 0
        while await self.run_one():
            n += 1
            if progress is not None:
                progress()
        return n

    async def loop(self) -> None:
        while True:
            try:
                if await self.run_one():
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a database hiccup must not end the worker
                log.exception("transcription worker")
            self.wake.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.poll_s)

    def start(self) -> None:
        if self.ready and self._task is None:
            self._task = asyncio.create_task(self.loop(), name="transcription-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None


async def health_check(rt: Runtime) -> tuple[bool, dict[str, Any]]:
    w = rt.components.get("transcription")
    problem = w.problem if isinstance(w, TranscriptionWorker) else service.engine_problem(rt.settings)
    try:
        async with rt.db.sessionmaker() as s:
            jobs = await service.counts(s)
    except Exception as e:  # noqa: BLE001
        jobs = {"error": str(e)}  # type: ignore[dict-item]
    detail: dict[str, Any] = {"ok": problem is None, "engine": rt.settings.stt_engine, "jobs": jobs}
    if problem:
        detail["reason"] = problem
    return problem is None, detail


EXTRA_CHECKS["transcription"] = health_check


@asynccontextmanager
async def transcription(rt: Runtime) -> AsyncIterator[None]:
    """Starter: import orphaned voicemail, then run the worker (if a model is configured)."""
    from recordings.orphans import import_orphans

    worker = TranscriptionWorker(rt.db, rt.settings, hub=rt.hub)
    rt.components["transcription"] = worker
    if worker.problem:
        log.warning("voicemail transcription disabled: %s", worker.problem)
    try:
        await import_orphans(rt)
    except Exception:  # noqa: BLE001 - never keep the service from starting
        log.exception("importing orphaned voicemail failed")
    worker.start()
    try:
        yield
    finally:
        await worker.stop()
        rt.components.pop("transcription", None)


async def transcribe_pending(settings: Settings, *, engine: str | None = None, failed: bool = True) -> int:
    """`hotline transcribe-pending`: requeue failed/empty jobs (with ``failed``) and run every job here,
    with a tqdm progress bar on stderr. Exit 2 when no engine can run, 1 when some still failed."""
    from tqdm import tqdm

    from app.migrate import upgrade_async

    if engine:
        settings = settings.model_copy(update={"stt_engine": engine})
    await upgrade_async(settings.database_url)
    db = Database(settings.database_url)
    try:
        worker = TranscriptionWorker(db, settings)
        if worker.problem:
            print(worker.problem, file=sys.stderr)
            return 2
        async with db.sessionmaker() as s:
            total = await service.requeue(s, failed=failed)
            await s.commit()
        with tqdm(total=total, unit="msg", desc="transcribing", file=sys.stderr) as bar:
            await worker.run_until_idle(progress=lambda: bar.update(1))
        async with db.sessionmaker() as s:
            counts = await service.counts(s)
        print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())))
        return 1 if counts.get("failed") or worker.problem else 0
    finally:
        await db.dispose()


async def purge_recordings(settings: Settings, days: int | None, *, dry_run: bool) -> int:
    """`hotline purge-recordings [--dry-run]`: audio older than the retention period."""
    db = Database(settings.database_url)
    n_days = days if days is not None else settings.recording_retention_days
    try:
        async with db.sessionmaker() as s:
            rows = await service.purge(s, n_days, dry_run=dry_run)
            await s.commit()
    finally:
        await db.dispose()
    verb = "would delete" if dry_run else "deleted"
    print(f"{verb} the audio of {len(rows)} recording(s) older than {n_days} days")
    return 0


async def _main(args: argparse.Namespace) -> int:
    from app.settings import Settings

    settings = Settings()
    db = Database(settings.database_url)
    try:
        worker = TranscriptionWorker(db, settings, lease_s=args.lease_s, poll_s=args.poll_s)
        if worker.problem:
            print(worker.problem, flush=True)
            return 2
        print(f"worker {worker.owner} ready", flush=True)
        if args.once:
            n = await worker.run_until_idle()
            print(f"processed {n}", flush=True)
        else:
            await worker.loop()
    finally:
        await db.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m recordings.worker", description=__doc__)
    p.add_argument("--once", action="store_true", help="exit when no job is left")
    p.add_argument("--lease-s", type=float, default=LEASE_S)
    p.add_argument("--poll-s", type=float, default=POLL_S)
    logging.basicConfig(level=logging.INFO)
    return asyncio.run(_main(p.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
