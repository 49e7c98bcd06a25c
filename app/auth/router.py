from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import events, service
from app.auth.deps import COOKIE, CurrentUser, token_from, user_from_token
from app.auth.models import User
from app.auth.schemas import LoginIn, LoginOut, PasswordChange, UserOut
from app.deps import HubDep, SessionDep
from app.events import commit_and_publish

router = APIRouter(prefix="/api/auth", tags=["auth"])


async def _read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Login only reads: on SQLite a deferred transaction, so a burst of logins (each waiting for its
    argon2 hash) never holds the write lock that calls, cases and /health need."""
    async with request.app.state.runtime.db.read_sessionmaker() as session:
        yield session


ReadSession = Annotated[AsyncSession, Depends(_read_session)]


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _start_session(request: Request, response: Response, user: User) -> LoginOut:
    rt = request.app.state.runtime
    token = rt.signer.issue(user)
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="strict", secure=rt.settings.cookie_secure,
        max_age=rt.settings.token_ttl_s,
    )
    return LoginOut(token=token, user=UserOut.model_validate(user))


async def _throttled(request: Request, username: str) -> None:
    rt = request.app.state.runtime
    wait = await rt.throttle.retry_after(username, _address(request))
    if wait > 0:
        seconds = math.ceil(wait)
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed logins: try again in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
    await rt.throttle.attempt(username, _address(request))


@router.post(
    "/login",
    response_model=LoginOut,
    responses={401: {"description": "用户名或密码错误"}, 429: {"description": "throttled"}},
)
async def login(data: LoginIn, request: Request, response: Response, session: ReadSession) -> LoginOut:
    await _throttled(request, data.username)
    user = await service.authenticate(session, data.username, data.password)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "用户名或密码错误")
    await request.app.state.runtime.throttle.succeeded(data.username, _address(request))
    return _start_session(request, response, user)


@router.post("/logout", status_code=204)
async def logout(request: Request, response: Response, session: SessionDep, hub: HubDep) -> None:
    """Ends the session server-side (every session of this user: the token version is bumped)."""
    token = token_from(request.headers, request.cookies)
    if token:
        try:
            user = await user_from_token(request.app.state.runtime, session, token)
        except HTTPException:
            user = None
        if user is not None:
            service.end_sessions(user)
            await commit_and_publish(session, hub, [events.sessions_ended(user)])
    response.delete_cookie(COOKIE)


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> User:
    return user


@router.post("/password", response_model=LoginOut, responses={401: {"description": "wrong password"}})
async def change_password(
    data: PasswordChange, request: Request, response: Response, session: SessionDep, hub: HubDep, user: CurrentUser
) -> LoginOut:
    """The user chooses a new password: every other session ends, this one continues with a new token."""
    await _throttled(request, user.username)
    if not await service.verify_password_async(user.password_hash, data.current_password):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "当前密码不正确")
    await request.app.state.runtime.throttle.succeeded(user.username, _address(request))
    if data.new_password == data.current_password:
        raise HTTPException(422, "新密码不能与当前密码相同")
    await service.set_password(user, data.new_password, must_change=False)
    await commit_and_publish(session, hub, [events.sessions_ended(user)])
    return _start_session(request, response, user)
