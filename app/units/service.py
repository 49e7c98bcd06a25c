"""Units directory. No commits here."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.units.models import Unit
from app.units.schemas import UnitCreate, UnitUpdate


class UnitError(ValueError):
    """A unit operation was refused; the message says why."""


async def get_unit(session: AsyncSession, code: str) -> Unit | None:
    return await session.scalar(select(Unit).where(Unit.code == code))


async def require_active_unit(session: AsyncSession, code: str) -> Unit:
    unit = await get_unit(session, code)
    if unit is None:
        raise UnitError(f"未知单位 {code!r}")
    if not unit.active:
        raise UnitError(f"单位 {code} 已停用")
    return unit


async def list_units(
    session: AsyncSession, *, platform: str | None = None, active: bool | None = None
) -> list[Unit]:
    q = select(Unit)
    if platform is not None:
        q = q.where(Unit.platform == platform)
    if active is not None:
        q = q.where(Unit.active.is_(active))
    return list(await session.scalars(q.order_by(Unit.platform, Unit.code)))


async def create_unit(session: AsyncSession, data: UnitCreate) -> Unit:
    if await get_unit(session, data.code) is not None:
        raise UnitError(f"单位 {data.code} 已存在")
    unit = Unit(**data.model_dump())
    session.add(unit)
    await session.flush()
    return unit


async def update_unit(session: AsyncSession, unit: Unit, data: UnitUpdate) -> Unit:
    for key, value in data.model_dump(exclude_unset=True).items():
        setattr(unit, key, value)
    await session.flush()
    return unit
