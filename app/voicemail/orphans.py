"""Voicemail Asterisk recorded while the backend was down (dialplan fallback in hotline-voicemail:
``<sandbox>/spool/orphan-voicemail/<uniqueid>.wav``), imported at start-up like any message.

Order keeps it idempotent across crashes: copy into recordings_dir → rows committed → orphan deleted;
an orphan whose row already exists (crash after commit) is only deleted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from pathlib import Path

from sqlalchemy import select

from app.calls.models import Call
from app.cases import events as case_events
from app.cases.context import of_runtime
from app.runtime import Runtime
from app.voicemail import service
from app.voicemail.component import kick, no_model
from app.voicemail.models import Recording
from recordings.files import private_file

log = logging.getLogger(__name__)


def orphan_dir(rt: Runtime) -> Path:
    return Path(rt.settings.sandbox_dir or "asterisk") / "spool" / "orphan-voicemail"


def _copy_durably(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = dst.with_suffix(".part")
    shutil.copyfile(src, tmp)
    private_file(tmp)
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    tmp.replace(dst)


def _orphan_target_dir(rt: Runtime) -> Path:
    return Path(rt.settings.recordings_dir or "recordings").resolve() / "orphans"


def _orphans(src_dir: Path) -> list[Path]:
    return sorted(p for p in src_dir.glob("*.wav") if p.is_file()) if src_dir.is_dir() else []


def _mailbox(rt: Runtime, platform: str) -> str:
    try:
        return rt.config.platform(platform).mailbox
    except KeyError:
        return rt.config.province_platform.mailbox


async def import_orphans(rt: Runtime) -> int:
    files = await asyncio.to_thread(_orphans, orphan_dir(rt))
    if not files:
        return 0
    base = _orphan_target_dir(rt)
    problem = no_model(rt)
    imported = 0
    for src in files:
        uniqueid = src.stem
        dst = base / src.name
        async with rt.db.read_sessionmaker() as r:
            known = await r.scalar(select(Recording.id).where(Recording.path == str(dst))) is not None
        if known:
            await asyncio.to_thread(src.unlink, missing_ok=True)
            continue
        # the copy (fsync'd) before the writing session: on SQLite that session holds the write lock from
        # its first statement, and no write transaction may wait on file I/O
        await asyncio.to_thread(_copy_durably, src, dst)
        async with rt.db.sessionmaker() as s:
            call = await s.scalar(
                select(Call).where((Call.uniqueid == uniqueid) | (Call.linkedid == uniqueid)).limit(1)
            )
            platform = (call.platform if call is not None else None) or rt.config.province_platform.code
            rec, case = await service.store_voicemail(
                s, path=dst, caller=call.caller if call is not None else None, platform=platform,
                prefecture=call.prefecture if call is not None else None, mailbox=_mailbox(rt, platform),
                call_uniqueid=uniqueid, source="orphan", no_model=problem, ctx=of_runtime(rt),
            )  # fmt: skip
            await s.commit()
        await asyncio.to_thread(src.unlink, missing_ok=True)
        imported += 1
        log.warning("imported orphaned voicemail %s as recording %s (case %s)", src.name, rec.id, case.number)
        await rt.hub.publish(case_events.created(case))
    kick(rt)
    return imported
