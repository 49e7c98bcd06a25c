"""Authentication dependencies: bearer token or session cookie; role checks on every route.

A token travels only in the Authorization header or the HttpOnly session cookie — never in a URL
(a URL ends up in access logs, browser history and Referer headers). WebSockets authenticate by the
cookie, the header, or a first message {"type": "auth", "token": "…"} (see app.realtime.ws).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Role, User
from app.auth.service import AuthError
from app.deps import get_session

COOKIE = "hotline_session"
# the pages send the user to the password form on a 403 with this header (hotline.js), not by its words
PASSWORD_CHANGE_HEADER = "X-Hotline-Password-Change"
# what a user who must choose a new password may still do
PASSWORD_CHANGE_PATHS = frozenset({"/api/auth/me", "/api/auth/password", "/api/auth/logout"})


def token_from(headers: Mapping[str, str], cookies: Mapping[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return cookies.get(COOKIE) or None


async def user_from_token(runtime: object, session: AsyncSession, token: str | None) -> User:
    """One primary-key lookup: the user row carries the session version every token is checked against."""
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "请先登录")
    try:
        uid, version = runtime.signer.read(token)  # type: ignore[attr-defined]
    except AuthError as e:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(e)) from e
    user = await session.get(User, uid)
    if user is None or not user.active:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "用户不存在或已停用")
    if version != (user.session_version or 0):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "会话已结束，请重新登录")
    return user


async def cached_user_from_token(runtime: object, session: AsyncSession, token: str | None) -> User:
    """For reads: a session checked less than ``session_cache_ttl_s`` ago under the same session
    version costs no query (app.auth.cache); otherwise as :func:`user_from_token`, then cached."""
    if token:
        try:
            uid, version = runtime.signer.read(token)  # type: ignore[attr-defined]
        except AuthError as e:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(e)) from e
        cached = runtime.sessions.get(uid, version)  # type: ignore[attr-defined]
        if cached is not None:
            return cached  # type: ignore[no-any-return]
    user = await user_from_token(runtime, session, token)
    runtime.sessions.put(user)  # type: ignore[attr-defined]
    return user


async def current_user(request: Request, session: AsyncSession = Depends(get_session)) -> User:
    """The signed-in user. Reads (GET/HEAD) may use the session cache; writes always load the user in
    their own transaction (they may change it, and they see a revocation at once)."""
    check = cached_user_from_token if request.method in ("GET", "HEAD") else user_from_token
    user = await check(request.app.state.runtime, session, token_from(request.headers, request.cookies))
    _refuse_until_password_changed(user, request)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


async def reading_user(request: Request) -> User:
    """:func:`current_user` for a GET route that reads with its own connection (app.db.Database.read)
    rather than a request-long session: the session cache answers, and on a miss the user is loaded in
    a session of its own, closed at once."""
    rt = request.app.state.runtime
    token = token_from(request.headers, request.cookies)
    if token:
        try:
            uid, version = rt.signer.read(token)
        except AuthError as e:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(e)) from e
        user: User | None = rt.sessions.get(uid, version)
        if user is None:
            async with rt.db.read_sessionmaker() as session:
                user = await cached_user_from_token(rt, session, token)
    else:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "请先登录")
    _refuse_until_password_changed(user, request)
    return user


def apart_with_roles(*roles: Role) -> Callable[..., Awaitable[User]]:
    """:func:`require_roles` for a write route that works in sessions of its own and may wait on
    another server meanwhile: the user is checked as for any write (no cache, a revocation counts at
    once) in a read-only session closed at once, not in a request-long writing one (on SQLite that one
    would hold the write lock while the route's own sessions wait for it)."""

    async def dep(request: Request) -> User:
        rt = request.app.state.runtime
        async with rt.db.read_sessionmaker() as session:
            user = await user_from_token(rt, session, token_from(request.headers, request.cookies))
        _refuse_until_password_changed(user, request)
        return _check_role(user, roles)

    return dep



def _refuse_until_password_changed(user: User, request: Request) -> None:
    if user.must_change_password and request.url.path not in PASSWORD_CHANGE_PATHS:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "需要先修改密码（POST /api/auth/password）",
            headers={PASSWORD_CHANGE_HEADER: "required"},
        )

def _check_role(user: User, roles: tuple[Role, ...]) -> User:
    if user.role not in roles:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"角色 {user.role.value} 无权执行此操作（需要 {', '.join(r.value for r in roles)}）",
        )
    return user


def require_roles(*roles: Role) -> Callable[..., Awaitable[User]]:
    async def dep(user: CurrentUser) -> User:
        return _check_role(user, roles)

    return dep


def reader_with_roles(*roles: Role) -> Callable[..., Awaitable[User]]:
    """:func:`require_roles` in one dependency, for the hot GET routes that read through
    app.db.Database.read (see :func:`reading_user`)."""

    async def dep(request: Request) -> User:
        return _check_role(await reading_user(request), roles)

    return dep
