"""FastAPI dependencies shared by every router: the DB session (the boundary commits), hub, settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.events import EventHub
from app.settings import Settings

if TYPE_CHECKING:
    from app.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    db = request.app.state.runtime.db
    maker = db.read_sessionmaker if request.method in ("GET", "HEAD") else db.sessionmaker
    async with maker() as session:
        yield session


def get_hub(request: Request) -> EventHub:
    return request.app.state.runtime.hub  # type: ignore[no-any-return]


def get_app_settings(request: Request) -> Settings:
    return request.app.state.runtime.settings  # type: ignore[no-any-return]


SessionDep = Annotated[AsyncSession, Depends(get_session)]
HubDep = Annotated[EventHub, Depends(get_hub)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
