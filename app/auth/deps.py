"""Authentication dependencies: bearer token or session cookie; role checks on every route."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, WebSocket, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Role, User
from app.auth.service import AuthError
from app.deps import get_session

COOKIE = "hotline_session"


def _token_from(headers: dict[str, str] | object, cookies: dict[str, str], query: dict[str, str]) -> str | None:
    auth = headers.get("authorization", "") if hasattr(headers, "get") else ""  # type: ignore[union-attr]
    if isinstance(auth, str) and auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return cookies.get(COOKIE) or query.get("token")


async def user_from_token(runtime: object, session: AsyncSession, token: str | None) -> User:
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "login required")
    try:
        uid = runtime.signer.read(token)  # type: ignore[attr-defined]
    except AuthError as e:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(e)) from e
    user = await session.get(User, uid)
    if user is None or not user.active:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or disabled user")
    return user


async def current_user(request: Request, session: AsyncSession = Depends(get_session)) -> User:
    token = _token_from(request.headers, request.cookies, dict(request.query_params))
    return await user_from_token(request.app.state.runtime, session, token)


async def websocket_user(websocket: WebSocket) -> User:
    token = _token_from(websocket.headers, websocket.cookies, dict(websocket.query_params))
    runtime = websocket.app.state.runtime
    async with runtime.db.sessionmaker() as session:
        return await user_from_token(runtime, session, token)


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: Role) -> Callable[..., Awaitable[User]]:
    async def dep(user: CurrentUser) -> User:
        if user.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {user.role.value} may not do this (needs {', '.join(r.value for r in roles)})",
            )
        return user

    return dep
