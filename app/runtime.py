"""Everything one running service holds: settings, database, event hub, signer, routing config, and
the components started with it (telephony, workers, schedulers) in typed slots.

May import: the app kernel (db, events, settings), app.auth.service (the token signer), callflow.
Never imports a domain: a component's slot (a ``Key``) is declared by the package that owns it, so
reading one (``rt.get(TELEPHONY)``) is typed and points the dependency from user to owner. No commits,
publishes nothing. See docs/adr/typed-runtime-slots.md.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from fastapi import Request

from app.auth.cache import SessionCache
from app.auth.events import SESSIONS_ENDED
from app.auth.scope import use_config
from app.auth.service import TokenSigner
from app.auth.throttle import LoginThrottle, Throttle, login_throttle
from app.db import Database
from app.events import CALENDAR_RELOADED, Event, EventHub
from app.flood import Limiter, LocalWindows, limiter
from app.settings import Settings

if TYPE_CHECKING:
    from callflow import HotlineConfig

log = logging.getLogger(__name__)
T = TypeVar("T")


class Key(Generic[T]):
    """A typed slot for one started component, declared once by the package that owns it:
    ``TELEPHONY: Key[Telephony] = Key("telephony")``. Keys compare by identity."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Key({self.name!r})"


@dataclass
class Runtime:
    settings: Settings
    db: Database
    hub: EventHub
    signer: TokenSigner
    config: HotlineConfig
    throttle: Throttle = field(default_factory=LoginThrottle)
    flood: Limiter = field(default_factory=LocalWindows)  # citizens' and webhooks' flood limits (app.flood)
    sessions: SessionCache = field(
        default_factory=lambda: SessionCache(0)
    )  # checked sessions (app.auth.cache)
    # started components, each under the Key its owner declares (telephony, workers, schedulers)
    _slots: dict[Key[Any], Any] = field(default_factory=dict, repr=False)

    def get(self, key: Key[T]) -> T | None:
        """The component under ``key``, or None when it is not running."""
        return self._slots.get(key)  # type: ignore[no-any-return]

    def require(self, key: Key[T]) -> T:
        """The component under ``key``; LookupError when it is not running."""
        try:
            return self._slots[key]  # type: ignore[no-any-return]
        except KeyError:
            raise LookupError(f"{key.name} is not running") from None

    def put(self, key: Key[T], value: T) -> None:
        self._slots[key] = value

    def drop(self, key: Key[Any]) -> None:
        self._slots.pop(key, None)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        from callflow import load_config

        config = load_config(settings.platform_config, holiday_dir=settings.holiday_dir)
        use_config(config)  # whose users see every platform
        hub = EventHub()
        sessions = SessionCache(settings.session_cache_ttl_s)
        # every process drops the user: a logout served by one worker ends the session in all of them
        hub.subscribe(SESSIONS_ENDED, sessions.on_event, everywhere=True)
        db = Database(
            settings.database_url, ping_idle_s=settings.db_ping_idle_s,
            pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow,
        )  # fmt: skip
        rt = cls(
            settings=settings,
            db=db,
            flood=limiter(settings.database_url, db.sessionmaker),
            hub=hub,
            sessions=sessions,
            signer=TokenSigner(settings.session_secret, settings.token_ttl_s),
            config=config,
            throttle=login_throttle(
                settings.database_url,
                db.sessionmaker,
                account_free=settings.login_account_free_failures,
                address_free=settings.login_address_free_failures,
                max_s=settings.login_lockout_max_s,
            ),
        )
        # an administrator's new holiday file, saved by one process: every process routes and counts
        # deadlines with it (the FastAGI processes too: the bus's control channel carries the notice)
        hub.subscribe(CALENDAR_RELOADED, rt.on_calendar_saved, everywhere=True)
        return rt

    async def on_calendar_saved(self, ev: Event) -> None:
        from callflow import load_config

        self.config = load_config(self.settings.platform_config, holiday_dir=self.settings.holiday_dir)
        log.info(
            "holiday calendar reloaded (%s): covered years %s", ev.data.get("file", "?"),
            year_ranges(self.config.calendar.covered_years()),
        )  # fmt: skip


def year_ranges(years: set[int]) -> str:
    """2004–2026, 2098–2099: the years a calendar covers, as runs."""
    runs: list[list[int]] = []
    for y in sorted(years):
        if runs and y == runs[-1][1] + 1:
            runs[-1][1] = y
        else:
            runs.append([y, y])
    return ", ".join(f"{a}–{b}" if a != b else str(a) for a, b in runs)


@asynccontextmanager
async def in_background(work: Coroutine[Any, Any, None], name: str | None = None) -> AsyncIterator[None]:
    """A starter's loop: ``work`` runs while the context is open, and is cancelled and awaited when it
    closes (the service stopping, or the process losing the job's leadership)."""
    task = asyncio.create_task(work, name=name)
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def get_runtime(request: Request) -> Runtime:
    """FastAPI dependency: the running service's Runtime (async: a plain ``def`` dependency costs a
    thread-pool round trip on every request)."""
    return request.app.state.runtime  # type: ignore[no-any-return]
