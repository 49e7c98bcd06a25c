"""An administrator settles a refused mail on the 拒收邮件 page: takes it in after all — the kept
message read again as the reader reads a new one, into a case with its attachments and the citizen's
acknowledgement (a mail refused because the database failed again and again, say) — or records that it
is not taken in, and why (advertising, a hostile message). Either way the row says who settled it and
when; a settled row is not settled again. No commits: the route commits and publishes the case's
events."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import User
from app.cases.service import CaseError
from app.db import utcnow
from app.intake.service import Received
from app.mail.models import DISMISSED, REFUSED, STATUS_LABELS, TAKEN, RefusedMail
from app.mail.parse import MailRefused, parse
from app.mail.reader import accept


class ReviewError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _open(session: AsyncSession, row_id: int) -> RefusedMail:
    row = await session.scalar(select(RefusedMail).where(RefusedMail.id == row_id).with_for_update())
    if row is None:
        raise ReviewError(404, f"没有编号为 {row_id} 的拒收邮件")
    if row.status != REFUSED:
        done = f"（工单 {row.case_number}）" if row.case_number else ""
        raise ReviewError(409, f"这封邮件已处理：{STATUS_LABELS.get(row.status, row.status)}{done}，{row.resolved_by} 处理")
    return row


def _settle(row: RefusedMail, status: str, user: User, note: str | None) -> None:
    row.status, row.resolved_at = status, utcnow()
    row.resolved_by = (user.display_name or user.username)[:64]
    row.note = (note or "").strip()[:500] or None


def _read(var_dir: Path, path: str) -> bytes:
    kept = Path(path).resolve()
    if not kept.is_relative_to((var_dir / "mail" / "refused").resolve()):
        raise OSError(f"{path} is not where refused mail is kept")
    return kept.read_bytes()


async def retake(
    session: AsyncSession, rt: Any, row_id: int, user: User, note: str | None = None
) -> tuple[RefusedMail, Received]:
    """The kept message taken in on its platform (flushed): the row settled with its case's number."""
    row = await _open(session, row_id)
    if row.kept != "message":
        raise ReviewError(409, "邮件过大，只保存了邮件头，无法重新受理：请在邮箱中查看原邮件，另行登记工单")
    try:
        raw = await asyncio.to_thread(_read, rt.settings.var_dir, row.path)
    except OSError:
        raise ReviewError(409, "保存的邮件原文已不在，无法重新受理：请在邮箱中查看原邮件，另行登记工单") from None
    try:
        got = await accept(session, rt, parse(raw), raw, row.platform)
    except (MailRefused, CaseError) as e:
        raise ReviewError(422, f"仍无法受理：{e}") from None
    assert got.case is not None
    _settle(row, TAKEN, user, note)
    row.case_number = got.case.number
    return row, got


async def dismiss(session: AsyncSession, row_id: int, user: User, note: str) -> RefusedMail:
    """Not taken in: the reason is kept with the row."""
    row = await _open(session, row_id)
    _settle(row, DISMISSED, user, note)
    return row
