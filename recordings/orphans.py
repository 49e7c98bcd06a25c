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
from typing import TYPE_CHECKING

from sqlalchemy import select

from app.calls.models import Call
from app.cases.context import of_runtime
from app.events import Event
from recordings import service
from recordings.models import Recording

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)


def orphan_dir(rt: Runtime) -> Path:
    return Path(rt.settings.sandbox_dir or "asterisk") / "spool" / "orphan-voicemail"


def _copy_durably(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".part")
    shutil.copyfile(src, tmp)
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    tmp.replace(dst)


def _orphan_target_dir(rt: Runtime) -> Path:
    return Path(rt.settings.recordings_dir or "recordings").resolve() / "orphans"


def _orphans(src_dir: Path) -> list[Path]:
    return sorted(p for p in src_dir.glob("*.wav") if p.is_file()) if src_dir.is_dir() else []


async def import_orphans(rt: Runtime) -> int:
    files = await asyncio.to_thread(_orphans, orphan_dir(rt))
    if not files:
        return 0
    base = _orphan_target_dir(rt)
    w = rt.components.get("transcription")
    no_model = getattr(w, "problem", None) or service.engine_problem(rt.settings)
    imported = 0
    for src in files:
        uniqueid = src.stem
        dst = base / src.name
        async with rt.db.sessionmaker() as s:
            if await s.scalar(select(Recording.id).where(Recording.path == str(dst))) is not None:
                await asyncio.to_thread(src.unlink, missing_ok=True)
                continue
            await asyncio.to_thread(_copy_durably, src, dst)
            call = await s.scalar(
                select(Call).where((Call.uniqueid == uniqueid) | (Call.linkedid == uniqueid)).limit(1)
            )
            platform = (call.platform if call is not None else None) or "province"
            rec, case = await service.store_voicemail(
                s, path=dst, caller=call.caller if call is not None else None, platform=platform,
                prefecture=call.prefecture if call is not None else None, mailbox=f"vm-{platform}",
                call_uniqueid=uniqueid, source="orphan", no_model=no_model, ctx=of_runtime(rt),
            )  # fmt: skip
            await s.commit()
        await asyncio.to_thread(src.unlink, missing_ok=True)
        imported += 1
        log.warning("imported orphaned voicemail %s as recording %s (case %s)", src.name, rec.id, case.number)
        await rt.hub.publish(Event("case.created", {
            "number": case.number, "platform": case.platform, "channel": "voicemail", "type": case.type,
            "call_uniqueid": uniqueid,
        }))  # fmt: skip
    if w is not None:
        w.kick()
    return imported
