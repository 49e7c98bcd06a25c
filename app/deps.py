"""FastAPI dependencies shared by every router: the DB session (the boundary commits), hub, settings.

May import: app.events, app.settings (never app.runtime: the Runtime dependency is app.runtime.get_runtime).
No commits (the route that takes the session commits), publishes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.events import EventHub
from app.settings import Settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    db = request.app.state.runtime.db
    maker = db.read_sessionmaker if request.method in ("GET", "HEAD") else db.sessionmaker
    async with maker() as session:
        yield session


async def get_write_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The writing session whatever the method: for the few GET routes that write (a gateway's
    delivery report, the call-back list that records missed calls)."""
    async with request.app.state.runtime.db.sessionmaker() as session:
        yield session


async def get_hub(request: Request) -> EventHub:  # async: a def dependency runs in the thread pool
    return request.app.state.runtime.hub  # type: ignore[no-any-return]


async def get_app_settings(request: Request) -> Settings:
    return request.app.state.runtime.settings  # type: ignore[no-any-return]


SessionDep = Annotated[AsyncSession, Depends(get_session)]
WriteSessionDep = Annotated[AsyncSession, Depends(get_write_session)]
HubDep = Annotated[EventHub, Depends(get_hub)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
