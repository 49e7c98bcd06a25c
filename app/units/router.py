"""Units directory API: staff read it, admins maintain it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException

from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.deps import SessionDep
from app.runtime import Runtime, get_runtime
from app.units import service
from app.units.schemas import UnitCreate, UnitOut, UnitUpdate

router = APIRouter(prefix="/api/units", tags=["units"])
Admin = Annotated[User, Depends(require_roles(Role.admin))]
Reader = Annotated[User, Depends(require_roles(Role.agent, Role.supervisor, Role.admin, Role.unit))]


def _check_platform(runtime: Runtime, platform: str | None) -> None:
    if platform is None:
        return
    try:
        runtime.config.platform(platform)
    except KeyError:
        raise HTTPException(422, f"未知平台 {platform!r}") from None


@router.get("", response_model=list[UnitOut])
async def list_units(
    session: SessionDep, user: Reader, platform: str | None = None, active: bool | None = None
) -> list[UnitOut]:
    rows = await service.list_units(session, platform=platform, active=active)
    return [UnitOut.model_validate(u) for u in rows]


@router.get("/{code}", response_model=UnitOut)
async def get_unit(code: str, session: SessionDep, user: Reader) -> UnitOut:
    unit = await service.get_unit(session, code)
    if unit is None:
        raise HTTPException(404, f"没有单位 {code}")
    return UnitOut.model_validate(unit)


@router.post("", response_model=UnitOut, status_code=201)
async def create_unit(
    data: UnitCreate, session: SessionDep, user: Admin, runtime: Annotated[Runtime, Depends(get_runtime)]
) -> UnitOut:
    _check_platform(runtime, data.platform)
    try:
        unit = await service.create_unit(session, data)
    except service.UnitError as e:
        raise HTTPException(409, str(e)) from None
    await session.commit()
    return UnitOut.model_validate(unit)


@router.patch("/{code}", response_model=UnitOut)
async def update_unit(
    code: str,
    data: UnitUpdate,
    session: SessionDep,
    user: Admin,
    runtime: Annotated[Runtime, Depends(get_runtime)],
) -> UnitOut:
    _check_platform(runtime, data.platform)
    unit = await service.get_unit(session, code)
    if unit is None:
        raise HTTPException(404, f"没有单位 {code}")
    await service.update_unit(session, unit, data)
    await session.commit()
    return UnitOut.model_validate(unit)
