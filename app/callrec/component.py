"""Call recordings' background work: after each AgentComplete (in the process consuming that server's
AMI events) the file MixMonitor wrote is checked and attached to the call, or the call is flagged as
failed; the purge of expired recordings runs in one process (app.lifecycle.singleton)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.callrec import service
from app.calls import service as calls
from app.db import utcnow
from app.events import Event, commit_and_publish
from app.health.router import EXTRA_CHECKS
from app.runtime import in_background
from recordings import calls as rc

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from app.calls.models import Call
    from app.runtime import Runtime

log = logging.getLogger(__name__)
POLL_S = 0.25


async def settled(path: Path, limit_s: float) -> None:
    """Waits until Asterisk has finished the file: present and the same size for two polls (MixMonitor
    closes it a moment after the bridge ends), or ``limit_s`` passed."""
    deadline, last = time.monotonic() + limit_s, -1
    stable = 0
    while time.monotonic() < deadline:
        size = rc.size_of(path)
        stable = stable + 1 if size == last and size > rc.WAV_HEADER else 0
        if stable >= 2:
            return
        last = size
        await asyncio.sleep(POLL_S)


async def attach_and_publish(
    rt: Runtime, session: AsyncSession, call: Call, server: str, path: Path, facts: rc.Facts
) -> None:
    """The file's facts on the call (ok, or failed: listed on /ui/recordings, counted by /health),
    committed, then the call.recording event."""
    row = await service.attach(session, call, server, path, facts)
    out = [Event("call.recording", {"uniqueid": call.uniqueid, "platform": call.platform,
                                    "agent": call.agent, "status": row.status, "detail": row.detail})]  # fmt: skip
    await commit_and_publish(session, rt.hub, out)


class CallRecordings:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._tasks: set[asyncio.Task[Any]] = set()
        self.checked = 0

    def _dir(self, server: str | None) -> Path | None:
        for s in self.rt.settings.asterisk:
            if s.name == (server or "main"):
                return s.recordings_dir
        return None

    async def on_complete(self, ev: Event) -> None:
        uid, server = str(ev.data.get("uniqueid") or ""), ev.data.get("server")
        directory = self._dir(server)
        if not uid or directory is None:
            return
        t = asyncio.create_task(self.check(uid, str(server or "main"), directory))
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    async def check(self, uid: str, server: str, directory: Path) -> None:
        async with self.rt.db.sessionmaker() as session:
            call = await calls.find(session, uid, by_linkedid=True)
            real = call.uniqueid if call is not None else uid  # the caller channel's: the file's name
        try:
            path = rc.path_for(directory, real)
        except ValueError:
            log.warning("call recording: odd uniqueid %r", real)
            return
        await settled(path, self.rt.settings.call_recording_settle_s)
        facts = await asyncio.to_thread(rc.inspect, path)
        try:
            async with self.rt.db.sessionmaker() as session:
                call = await calls.find(session, real)
                if call is None:
                    log.warning("call recording %s: no call row", path)
                    return
                await attach_and_publish(self.rt, session, call, server, path, facts)
        except Exception:
            log.exception("attaching the recording of %s failed", uid)
            return
        self.checked += 1
        if facts.status != rc.OK:
            log.warning("call %s: recording failed (%s): %s", real, facts.detail, path)

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def purge_once(rt: Runtime) -> int:
    """Deletes the files older than the retention and marks their rows purged; returns how many."""
    now = utcnow()
    n = 0
    async with rt.db.sessionmaker() as session:
        for row in await service.due_for_purge(session, now, rt.settings.call_recording_retention_days):
            try:
                await asyncio.to_thread(rc.delete, Path(row.path))
            except OSError as e:
                log.warning("cannot delete expired recording %s: %s", row.path, e)
                continue
            service.mark_purged(row, now)
            n += 1
        await session.commit()
    n += await _purge_unnamed(rt, now)
    if n:
        log.info(
            "purged %d call recording(s) older than %d days", n, rt.settings.call_recording_retention_days
        )
    return n


async def _purge_unnamed(rt: Runtime, now: datetime) -> int:
    """Files past the retention that no row named (e.g. the province's own file of a leg transferred
    to it over the trunk; the call's recording is the caller's, on the other server): deleted by age."""
    n = 0
    for server in rt.settings.asterisk:
        if server.recordings_dir is None:
            continue
        days = rt.settings.call_recording_retention_days
        for path in await asyncio.to_thread(rc.expired_files, Path(server.recordings_dir), now, days):
            try:
                await asyncio.to_thread(rc.delete, path)
            except OSError as e:
                log.warning("cannot delete expired recording %s: %s", path, e)
                continue
            n += 1
    return n


async def recordings_health(rt: Runtime) -> tuple[bool, dict[str, Any]]:
    """Not ok while any recording failed in the last 24 hours (the supervisors' 录音 page lists them)."""
    async with rt.db.sessionmaker() as session:
        failed = await service.failed_since(session, utcnow() - timedelta(hours=24))
    detail: dict[str, Any] = {"failed_24h": failed}
    if failed:
        detail["reason"] = f"{failed} 通来电录音失败（24 小时内），见 /ui/recordings"
    return failed == 0, detail


@asynccontextmanager
async def call_recordings(rt: Runtime) -> AsyncIterator[None]:
    comp = CallRecordings(rt)
    rt.hub.subscribe("agent.complete", comp.on_complete)  # local: the AMI consumer's process only
    EXTRA_CHECKS["call_recordings"] = recordings_health
    try:
        yield
    finally:
        await comp.close()


@asynccontextmanager
async def recording_purge(rt: Runtime) -> AsyncIterator[None]:
    """The purge loop (run by app.lifecycle.singleton: one process at a time)."""

    async def loop() -> None:
        while True:
            try:
                await purge_once(rt)
            except Exception:
                log.exception("recording purge failed; retrying next interval")
            await asyncio.sleep(rt.settings.call_recording_purge_interval_s)

    async with in_background(loop(), "call-recording-purge"):
        yield
