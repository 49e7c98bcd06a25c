"""User administration (administrators only): list, create (also POST /api/auth/users), disable/enable,
reset password; the page /ui/admin/users. Disabling a user or resetting the password ends every session of that user."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import events, service
from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.auth.schemas import AdminUserCreate, PasswordReset, UserAdminOut, UserCreate, UserOut
from app.deps import HubDep, SessionDep
from app.events import commit_and_publish
from app.units.service import get_unit
from app.web.router import page

router = APIRouter(tags=["admin"])
Admin = Annotated[User, Depends(require_roles(Role.admin))]
Username = Annotated[str, PathParam(min_length=1, max_length=64)]
TEMPLATES = Path(__file__).resolve().parent / "templates"


async def check_scope(runtime: Any, data: UserCreate, session: AsyncSession | None = None) -> None:
    """A user's platform must exist; units' handlers need an existing unit."""
    try:
        runtime.config.platform(data.platform)
    except KeyError:
        raise HTTPException(422, f"未知平台 {data.platform!r}") from None
    if data.role is Role.unit and not data.unit_code:
        raise HTTPException(422, "承办单位账号须指定单位（unit_code）")
    if data.unit_code and session is not None:
        if await get_unit(session, data.unit_code) is None:
            raise HTTPException(422, f"未知单位 {data.unit_code!r}")


async def _user(session: AsyncSession, username: str) -> User:
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        raise HTTPException(404, f"没有用户 {username}")
    return user


@router.get("/api/admin/users", response_model=list[UserAdminOut])
async def list_users(
    session: SessionDep,
    _: Admin,
    role: Role | None = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[User]:
    q = select(User).order_by(User.username).limit(limit).offset(offset)
    if role is not None:
        q = q.where(User.role == role)
    if active is not None:
        q = q.where(User.active.is_(active))
    return list(await session.scalars(q))


async def _last_active_admin(session: AsyncSession, user: User) -> bool:
    if user.role is not Role.admin:
        return False
    n = await session.scalar(
        select(func.count()).select_from(User).where(User.role == Role.admin, User.active.is_(True))
    )
    return (n or 0) <= 1


@router.post("/api/admin/users/{username}/disable", response_model=UserAdminOut)
async def disable_user(username: Username, session: SessionDep, hub: HubDep, admin: Admin) -> User:
    user = await _user(session, username)
    if user.active and await _last_active_admin(session, user):
        raise HTTPException(409, "不能停用最后一个在用的管理员")
    user.active = False
    service.end_sessions(user)
    await commit_and_publish(session, hub, [events.sessions_ended(user)])
    return user


@router.post("/api/admin/users/{username}/enable", response_model=UserAdminOut)
async def enable_user(username: Username, session: SessionDep, _: Admin) -> User:
    user = await _user(session, username)
    user.active = True
    await session.commit()
    return user


@router.post("/api/admin/users/{username}/password", response_model=UserAdminOut)
async def reset_password(
    username: Username, data: PasswordReset, session: SessionDep, hub: HubDep, _: Admin
) -> User:
    """Sets a new password (ending the user's sessions); by default the user must change it at next login."""
    user = await _user(session, username)
    await service.set_password(user, data.password, must_change=data.must_change_password)
    await commit_and_publish(session, hub, [events.sessions_ended(user)])
    return user


@router.get("/ui/admin/users", include_in_schema=False)
async def users_page() -> Response:
    return page(TEMPLATES / "users.html")


@router.post("/api/auth/users", response_model=UserOut, status_code=201)
async def create_user(
    data: AdminUserCreate, request: Request, session: SessionDep,
    _: Annotated[User, Depends(require_roles(Role.admin))],
) -> User:
    await check_scope(request.app.state.runtime, data, session)
    try:
        user = await service.create_user(session, data)
    except service.AuthError as e:
        raise HTTPException(409, str(e)) from e
    await session.commit()
    return user
