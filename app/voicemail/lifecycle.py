"""Starter and health check of the transcription worker inside the service, and the command-line
bodies (``hotline transcribe-pending``, ``hotline purge-recordings``, ``python -m app.voicemail.worker``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tqdm import tqdm

from app.db import Database
from app.health.router import EXTRA_CHECKS
from app.migrate import upgrade_async
from app.runtime import Runtime
from app.settings import Settings
from app.voicemail import service
from app.voicemail.component import TRANSCRIPTION, no_model
from app.voicemail.engine import engine_or_problem
from app.voicemail.jobs import DbJobStore
from app.voicemail.orphans import import_orphans
from recordings.worker import LEASE_S, POLL_S, TranscriptionWorker

log = logging.getLogger(__name__)


def make_worker(
    db: Database, settings: Settings, *, hub: Any = None, lease_s: float = LEASE_S, poll_s: float = POLL_S
) -> TranscriptionWorker:
    """The worker wired to this database (its JobStore) and the configured engine."""
    engine, problem = engine_or_problem(settings)
    return TranscriptionWorker(DbJobStore(db, hub), engine, problem=problem, lease_s=lease_s, poll_s=poll_s)


async def health_check(rt: Runtime) -> tuple[bool, dict[str, Any]]:
    problem = no_model(rt)
    try:
        async with rt.db.sessionmaker() as s:
            jobs = await service.counts(s)
    except Exception as e:  # noqa: BLE001
        jobs = {"error": str(e)}  # type: ignore[dict-item]
    detail: dict[str, Any] = {"ok": problem is None, "engine": rt.settings.stt_engine, "jobs": jobs}
    worker = rt.get(TRANSCRIPTION)
    if worker is not None and worker.engine is not None:
        detail["uses"] = {"engine": worker.engine.name, "model": str(getattr(worker.engine, "model_path", ""))}
    if problem:
        detail["reason"] = problem
    return problem is None, detail


EXTRA_CHECKS["transcription"] = health_check


@asynccontextmanager
async def transcription(rt: Runtime) -> AsyncIterator[None]:
    """Starter: import orphaned voicemail, then run the worker (if a model is configured)."""
    worker = make_worker(rt.db, rt.settings, hub=rt.hub)
    rt.put(TRANSCRIPTION, worker)
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
        rt.drop(TRANSCRIPTION)


async def transcribe_pending(settings: Settings, *, engine: str | None = None, failed: bool = True) -> int:
    """`hotline transcribe-pending`: requeue failed/empty jobs (with ``failed``) and run every job here,
    with a tqdm progress bar on stderr. Exit 2 when no engine can run, 1 when some still failed."""
    if engine:
        settings = settings.model_copy(update={"stt_engine": engine})
    await upgrade_async(settings.database_url)
    db = Database(settings.database_url)
    try:
        worker = make_worker(db, settings)
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


async def run_worker(args: argparse.Namespace) -> int:
    """``python -m app.voicemail.worker``: one more worker process on the same database."""
    settings = Settings()
    db = Database(settings.database_url)
    try:
        worker = make_worker(db, settings, lease_s=args.lease_s, poll_s=args.poll_s)
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


def worker_main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.voicemail.worker", description=run_worker.__doc__)
    p.add_argument("--once", action="store_true", help="exit when no job is left")
    p.add_argument("--lease-s", type=float, default=LEASE_S)
    p.add_argument("--poll-s", type=float, default=POLL_S)
    logging.basicConfig(level=logging.INFO)
    return asyncio.run(run_worker(p.parse_args(argv)))
