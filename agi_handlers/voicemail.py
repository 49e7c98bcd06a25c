"""AGI route `voicemail`: greeting, beep, record up to voicemail_max_s (silence or hang-up ends the
message), thanks. The file is stored and written to the database — recording row, case (channel
voicemail, intake, "语音留言（转写中）") and a durable transcription job, in one transaction — before
anything transcribes it; the worker is then woken.

Asterisk and the backend share the disk: Asterisk records straight into recordings_dir (absolute).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from agi_handlers import channel_vars as cv
from agi_handlers.server import AgiHangup, AgiRequest
from app.cases.context import of_runtime
from app.events import Event
from callflow.greeting import voicemail_greeting
from ivr import prompts
from recordings import service

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)
ANON = {"", "unknown", "anonymous", "restricted", "withheld", "private"}
TIMEOUT_S = 600.0  # the route's time bound (agi_handlers.routes.ROUTE_TIMEOUTS)
OVERHEAD_S = 90.0  # greeting + thanks + storing, inside that bound
SILENCE_S = 3


def _caller(env: dict[str, str]) -> str:
    caller = env.get("agi_callerid", "").strip()
    return "" if caller.lower() in ANON else caller


def max_record_ms(rt: Runtime) -> int:
    return int(min(rt.settings.voicemail_max_s, TIMEOUT_S - OVERHEAD_S) * 1000)


async def _prompt_base(request: AgiRequest) -> str:
    """Prompt path without extension for STREAM FILE: Asterisk's copy (${HOTLINE_PROMPTS}) if set."""
    sounds = await request.get_var("HOTLINE_PROMPTS")
    return sounds or str(prompts.PROMPT_DIR)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


async def _settled(path: Path, hung_up: bool) -> bool:
    """After a hang-up Asterisk may still be closing the file: wait until it exists and stops growing."""
    last = -1
    for _ in range(20 if hung_up else 2):
        size = _size(path)
        if size >= 0 and size == last:
            return True
        last = size
        await asyncio.sleep(0.1)
    return _size(path) >= 0


async def store(
    rt: Runtime,
    path: Path,
    *,
    caller: str,
    platform: str,
    prefecture: str | None,
    mailbox: str | None,
    uniqueid: str,
) -> tuple[int, str]:
    """Commit recording + case + job; returns (recording id, case number) and wakes the worker."""
    worker = rt.components.get("transcription")
    no_model = getattr(worker, "problem", None) if worker is not None else service.engine_problem(rt.settings)
    async with rt.db.sessionmaker() as session:
        rec, case = await service.store_voicemail(
            session, path=path, caller=caller, platform=platform, prefecture=prefecture, mailbox=mailbox,
            call_uniqueid=uniqueid, no_model=no_model, ctx=of_runtime(rt),
        )  # fmt: skip
        await session.commit()
    if worker is not None:
        worker.kick()
    await rt.hub.publish(Event("case.created", {
        "number": case.number, "platform": case.platform, "channel": "voicemail", "type": case.type,
        "call_uniqueid": uniqueid,
    }))  # fmt: skip
    await rt.hub.publish(
        Event("voicemail.new", {"recording_id": rec.id, "case": case.number, "platform": platform})
    )
    return rec.id, case.number


def greeting_for(rt: Runtime, platform: str) -> str:
    """The greeting that says when staff are back (callflow.greeting); the generic one on any doubt."""
    try:
        return voicemail_greeting(rt.config.platform(platform), datetime.now(UTC), rt.config)
    except Exception:  # noqa: BLE001 - a greeting must always play
        log.exception("voicemail greeting for %s", platform)
        return "voicemail-closed"


async def handle(request: AgiRequest, rt: Runtime) -> None:
    env = request.env
    uniqueid = env.get("agi_uniqueid", "")
    caller = _caller(env)
    mailbox = env.get("agi_arg_1", "").strip() or (await request.get_var(cv.MAILBOX)) or "vm-province"
    platform = (await request.get_var(cv.PLATFORM)) or mailbox.removeprefix("vm-")
    if not of_runtime(rt).has_platform(platform):
        platform = "province"
    prefecture = (await request.get_var(cv.PREFECTURE)) or None
    base = await _prompt_base(request)
    path = service.recording_path(rt.settings, uniqueid)
    path.parent.mkdir(parents=True, exist_ok=True)
    await request.set_var(cv.RECORDING, str(path))
    hung_up = False
    try:
        await request.cmd(f'STREAM FILE {base}/{greeting_for(rt, platform)} ""')
        res = await request.cmd(
            f'RECORD FILE {path.with_suffix("")} wav "#" {max_record_ms(rt)} 0 BEEP s={SILENCE_S}'
        )
        log.info("voicemail %s recorded: %s", uniqueid, res.get("result"))
        if res.get("status_code") == 511:  # dead channel: the caller had already gone
            hung_up = True
    except AgiHangup:
        hung_up = True
    if not await _settled(path, hung_up):
        log.info("voicemail %s: caller left before the beep; nothing recorded", uniqueid)
        return
    rec_id, number = await store(rt, path, caller=caller, platform=platform, prefecture=prefecture,
                                 mailbox=mailbox, uniqueid=uniqueid)  # fmt: skip
    log.info("voicemail %s stored as recording %s, case %s", uniqueid, rec_id, number)
    if hung_up:
        return
    try:
        await request.set_var(cv.CASE_ID, number)
        await request.cmd(f'STREAM FILE {base}/voicemail-thanks ""')
    except AgiHangup:
        pass
