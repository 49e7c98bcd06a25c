"""Case numbers a citizen can read out: ``<platform prefix>-<local date>-<sequence>``, e.g.
``KM-20261126-0007``. The sequence is per platform per day, taken with one atomic upsert
(INSERT … ON CONFLICT DO UPDATE … RETURNING) so concurrent intakes never share a number on either
database; prefixes are unique across platforms (checked in CaseRules), so numbers are too."""

from __future__ import annotations

from datetime import date

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import CaseNumberSeq


def format_number(prefix: str, day: date, seq: int) -> str:
    return f"{prefix}-{day:%Y%m%d}-{seq:04d}"


async def next_number(session: AsyncSession, prefix: str, day: date) -> str:
    key = f"{prefix}-{day:%Y%m%d}"
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    ins = postgresql.insert(CaseNumberSeq) if dialect == "postgresql" else sqlite.insert(CaseNumberSeq)
    stmt = (
        ins.values(key=key, last=1)
        .on_conflict_do_update(index_elements=["key"], set_={"last": CaseNumberSeq.last + 1})
        .returning(CaseNumberSeq.last)
    )
    seq = (await session.execute(stmt)).scalar_one()
    return format_number(prefix, day, int(seq))
