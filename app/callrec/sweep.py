"""The sweep of recordings nobody checked (run by app.lifecycle.singleton: one process at a time).

The check after each call rides on AgentComplete, which only the process consuming that server's AMI
events sees. A call answered while no backend consumed them (the whole backend down: the call row
comes from the CDR; the AMI session lost mid-call: the resync closes the row; or lost before the
answer: the CDR import at the new login gives the row its answer) is still recorded by Asterisk
(queues.conf MixMonitor), but nobody looked at its file. Every ``call_recording_sweep_interval_s`` the leader takes the answered calls ended more than
``call_recording_sweep_grace_s`` ago (the normal check has had its chance) with no recording row and
checks their files the same way: attached when good, flagged failed otherwise (on the call, on
/ui/recordings, in /health), never silent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from app.callrec import service
from app.callrec.component import attach_and_publish
from app.calls.models import Call
from app.db import utcnow
from app.runtime import in_background
from recordings import calls as rc

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)


def _dirs(rt: Runtime) -> dict[str, Path]:
    return {s.name: Path(s.recordings_dir) for s in rt.settings.asterisk if s.recordings_dir is not None}


async def sweep_once(rt: Runtime) -> dict[str, int]:
    """Checks the recordings nobody checked; returns how many came out ok and failed."""
    s, now, dirs = rt.settings, utcnow(), _dirs(rt)
    counts = {rc.OK: 0, rc.FAILED: 0}
    async with rt.db.sessionmaker() as session:
        due = await service.never_checked(
            session,
            servers=set(dirs),
            ended_before=now - timedelta(seconds=s.call_recording_sweep_grace_s),
            answered_since=now - timedelta(hours=s.call_recording_sweep_window_h),
        )
        todo = [(c.id, c.uniqueid, c.server) for c in due]
    for call_id, uid, server in todo:
        try:
            path = rc.path_for(dirs[server], uid)
        except ValueError:
            path = dirs[server] / "invalid-uniqueid.wav"  # no file can be there: flagged, not skipped
        facts = await asyncio.to_thread(rc.inspect, path)
        async with rt.db.sessionmaker() as session:
            call = await session.get(Call, call_id)
            if call is None:
                continue
            try:
                await attach_and_publish(rt, session, call, server, path, facts)
            except IntegrityError:  # the event path attached it meanwhile
                await session.rollback()
                continue
        counts[facts.status] += 1
        if facts.status != rc.OK:
            log.warning("call %s: recording failed (%s, found by the sweep): %s", uid, facts.detail, path)
    if todo:
        log.info("recording sweep: %d call(s) nobody had checked: %s", len(todo), counts)
    return counts


@asynccontextmanager
async def recording_sweep(rt: Runtime) -> AsyncIterator[None]:
    async def loop() -> None:
        while True:
            try:
                await sweep_once(rt)
            except Exception:
                log.exception("recording sweep failed; retrying next interval")
            await asyncio.sleep(rt.settings.call_recording_sweep_interval_s)

    async with in_background(loop(), "call-recording-sweep"):
        yield
