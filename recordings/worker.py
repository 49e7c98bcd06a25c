"""The transcription worker: claims one job at a time with a lease, runs the engine in a thread,
keeps the lease alive by heartbeat, and reports the outcome (the store's compare-and-set makes sure
a worker that lost its lease never writes a second transcript).

The worker's database access goes through the ``JobStore`` port; the service implements it
(app.voicemail.jobs) and runs the worker inside the service (``transcription`` starter) or alone:
``python -m app.voicemail.worker [--once]``. A worker killed mid-job loses nothing: the lease
expires and another takes it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from recordings.stt import AudioError, EngineUnavailable, SpeechEngine, Transcript

log = logging.getLogger(__name__)
LEASE_S = 30.0
POLL_S = 2.0
NO_MODEL = "transcription pending: no model configured"


@dataclass(frozen=True)
class ClaimedJob:
    """One job this worker holds the lease of (``attempt`` is the compare-and-set token)."""

    job_id: int
    attempt: int
    recording_id: int
    path: Path | None  # None: the recording row is gone
    platform: str | None


class JobStore(Protocol):
    """The durable queue, each call one committed unit of work."""

    async def claim(self, owner: str, lease_s: float) -> ClaimedJob | None: ...

    async def heartbeat(self, job: ClaimedJob, owner: str, lease_s: float) -> bool: ...

    async def finish(
        self, job: ClaimedJob, transcript: Transcript | None, error: str | None, *, seconds: float, engine: str
    ) -> bool:
        """Write the outcome of the attempt (``seconds`` the engine took); False when this worker no
        longer holds the job."""

    async def release(
        self, job: ClaimedJob, error: str, *, count_attempt: bool, waiting_reason: str | None = None
    ) -> None:
        """Give the job back (after the last attempt it fails); ``waiting_reason``: the engine became
        unavailable, and every pending message says why it waits."""


def status_of(tr: Transcript | None) -> str:
    return "failed" if tr is None else ("done" if tr.text.strip() else "empty")


class TranscriptionWorker:
    def __init__(
        self, store: JobStore, engine: SpeechEngine | None, *, problem: str | None = None,
        lease_s: float = LEASE_S, poll_s: float = POLL_S,
    ) -> None:  # fmt: skip
        self.store = store
        self.engine = engine
        self.problem = problem if problem is not None or engine is not None else NO_MODEL
        self.lease_s, self.poll_s = lease_s, poll_s
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.wake = asyncio.Event()
        self.processed = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def ready(self) -> bool:
        return self.engine is not None and self.problem is None

    def kick(self) -> None:
        """A new job was committed: look now instead of at the next poll."""
        self.wake.set()

    async def _heartbeat(self, job: ClaimedJob) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            if not await self.store.heartbeat(job, self.owner, self.lease_s):
                log.warning("transcription job %s: lease lost", job.job_id)
                return

    async def run_one(self) -> bool:
        """Claim and run one job. False when nothing was claimable (or no engine)."""
        if not self.ready:
            return False
        assert self.engine is not None
        job = await self.store.claim(self.owner, self.lease_s)
        if job is None:
            return False
        path = job.path or Path("/nonexistent")
        hb = asyncio.create_task(self._heartbeat(job))
        tr, error = None, None
        t0 = time.perf_counter()
        t0 = time.perf_counter()
        try:
            tr = await asyncio.to_thread(self.engine.transcribe, path)
        except AudioError as e:
            error = f"录音文件无法读取: {e}"
        except EngineUnavailable as e:
            self.problem = f"{NO_MODEL}: {e}"
            await self.store.release(job, str(e), count_attempt=False, waiting_reason=self.problem)
            return True
        except Exception as e:  # noqa: BLE001 - any engine crash: retried, then failed; never blocks
            log.exception("transcription job %s failed", job.job_id)
            await self.store.release(job, f"{type(e).__name__}: {e}", count_attempt=True)
            return True
        finally:
            hb.cancel()
            # not `with suppress(CancelledError): await hb`: a stop() arriving during that await would
            # be swallowed and the worker would loop on forever (a shutdown that never ends).
            # asyncio.wait neither raises hb's cancellation nor hides our own.
            await asyncio.wait({hb})
        seconds = time.perf_counter() - t0
        if await self.store.finish(job, tr, error, seconds=seconds, engine=self.engine.name):
            self.processed += 1
            log.info("recording %s transcribed: %s", job.recording_id, status_of(tr))
        else:
            log.warning("transcription job %s: another worker owns it now; result dropped", job.job_id)
        return True

    async def run_until_idle(self, progress: Callable[[], Any] | None = None) -> int:
        n = 0
        while await self.run_one():
            n += 1
            if progress is not None:
                progress()
        return n

    async def loop(self) -> None:
        while not self._stopping:  # the flag too: a cancellation swallowed below must not keep us alive
            try:
                if await self.run_one():
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a database hiccup must not end the worker
                log.exception("transcription worker")
            self.wake.clear()
            with suppress(TimeoutError):
                async with asyncio.timeout(self.poll_s):
                    await self.wake.wait()

    def start(self) -> None:
        if self.ready and self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self.loop(), name="transcription-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._stopping = True
            self.wake.set()
            self._task.cancel()
            await asyncio.wait({self._task})  # ends by the cancellation, or at the latest by the flag
            self._task = None
