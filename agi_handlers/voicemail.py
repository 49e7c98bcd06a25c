"""AGI route `voicemail`: greeting, beep, record up to voicemail_max_s (silence or hang-up ends the
message), thanks. The file is stored through the VoicemailStore port (in the service: recording row,
case (channel voicemail, intake, "语音留言（转写中）") and a durable transcription job, in one
transaction, before anything transcribes it; the worker is then woken).

Asterisk and the backend share the disk: Asterisk records straight into recordings_dir (absolute).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

from agi_handlers import channel_vars as cv
from agi_handlers.ports import AgiPorts
from agi_handlers.server import AgiHangup, AgiRequest
from callflow.greeting import voicemail_greeting
from ivr import prompts

log = logging.getLogger(__name__)
ANON = {"", "unknown", "anonymous", "restricted", "withheld", "private"}
TIMEOUT_S = 600.0  # the route's time bound (agi_handlers.routes.ROUTE_TIMEOUTS)
OVERHEAD_S = 90.0  # greeting + thanks + storing, inside that bound
SILENCE_S = 3


def _caller(env: dict[str, str]) -> str:
    caller = env.get("agi_callerid", "").strip()
    return "" if caller.lower() in ANON else caller


def max_record_ms(ports: AgiPorts) -> int:
    return int(min(ports.voicemail.max_record_s, TIMEOUT_S - OVERHEAD_S) * 1000)


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


def greeting_for(ports: AgiPorts, platform: str) -> str:
    """The greeting that says when staff are back (callflow.greeting); the generic one on any doubt."""
    config = ports.config
    try:
        return voicemail_greeting(config.platform(platform), datetime.now(UTC), config)
    except Exception:  # noqa: BLE001 - a greeting must always play
        log.exception("voicemail greeting for %s", platform)
        return "voicemail-closed"


async def handle(request: AgiRequest, ports: AgiPorts) -> None:
    env = request.env
    uniqueid = env.get("agi_uniqueid", "")
    caller = _caller(env)
    config = ports.config
    provincial = config.province_platform
    mailbox = env.get("agi_arg_1", "").strip() or (await request.get_var(cv.MAILBOX)) or provincial.mailbox
    platform = (await request.get_var(cv.PLATFORM)) or next(
        (p.code for p in config.platforms if p.mailbox == mailbox), provincial.code
    )
    if not ports.voicemail.has_platform(platform):
        platform = provincial.code
    prefecture = (await request.get_var(cv.PREFECTURE)) or None
    base = await _prompt_base(request)
    path = ports.voicemail.recording_path(uniqueid)  # its directory exists, private to the service
    await request.set_var(cv.RECORDING, str(path))
    hung_up = False
    try:
        await request.cmd(f'STREAM FILE {base}/{greeting_for(ports, platform)} ""')
        res = await request.cmd(
            f'RECORD FILE {path.with_suffix("")} wav "#" {max_record_ms(ports)} 0 BEEP s={SILENCE_S}'
        )
        log.info("voicemail %s recorded: %s", uniqueid, res.get("result"))
        if res.get("status_code") == 511:  # dead channel: the caller had already gone
            hung_up = True
    except AgiHangup:
        hung_up = True
    if not await _settled(path, hung_up):
        log.info("voicemail %s: caller left before the beep; nothing recorded", uniqueid)
        return
    rec_id, number = await ports.voicemail.store(path, caller=caller, platform=platform, prefecture=prefecture,
                                                 mailbox=mailbox, uniqueid=uniqueid)  # fmt: skip
    log.info("voicemail %s stored as recording %s, case %s", uniqueid, rec_id, number)
    if hung_up:
        return
    try:
        await request.set_var(cv.CASE_ID, number)
        await request.cmd(f'STREAM FILE {base}/voicemail-thanks ""')
    except AgiHangup:
        pass
