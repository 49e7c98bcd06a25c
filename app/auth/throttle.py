"""Login throttling per account and per address: a few free failures, then an exponentially growing
lockout (capped), forgotten after a quiet window.

- PostgreSQL (several worker processes): :class:`SharedLoginThrottle` keeps the counts in
  ``login_throttle``, one row per account or address (the key stored hashed: no address or user name
  in the table), changed under the row's lock in one short transaction per login, so every worker
  sees every failure — with N workers an attacker still gets the limit's tries, not N times them.
- SQLite (one process): :class:`LoginThrottle`, the same counts in memory.

``login_throttle(url, sessionmaker, ...)`` picks one. The arithmetic (:func:`wait`, :func:`fail`,
:func:`forgive`) is the same for both."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert

from app.auth.models import LoginFailures
from app.pg import is_pg

SWEEP_S = 60.0  # how often one process deletes the rows of the forgotten


@dataclass(frozen=True)
class Entry:
    failures: int
    last_at: float
    locked_until: float


@dataclass(frozen=True)
class Policy:
    free: int  # failures before the lockout starts
    base_s: float
    max_s: float
    window_s: float  # a quiet window after which the failures are forgotten


def forgotten(e: Entry | None, policy: Policy, now: float) -> bool:
    return e is None or now - e.last_at > max(policy.window_s, e.locked_until - e.last_at)


def wait(e: Entry | None, policy: Policy, now: float) -> float:
    """Seconds before the next try is allowed (0 = now)."""
    if e is None or forgotten(e, policy, now):
        return 0.0
    return max(0.0, e.locked_until - now)


def fail(e: Entry | None, policy: Policy, now: float) -> Entry:
    if e is None or forgotten(e, policy, now):
        e = Entry(0, now, now)
    failures = e.failures + 1
    over = failures - policy.free + 1  # the free-th failure already locks the next try
    locked = now + min(policy.max_s, policy.base_s * 2 ** min(over - 1, 30)) if over > 0 else e.locked_until
    return Entry(failures, now, locked)


def forgive(e: Entry | None, *, all_of_it: bool) -> Entry | None:
    """After a success: the account's count is cleared, the address's lowered by one."""
    if e is None or all_of_it or e.failures <= 1:
        return None
    return replace(e, failures=e.failures - 1)


class Throttle(Protocol):
    clock: Callable[[], float]

    async def retry_after(self, username: str, address: str) -> float:
        """Seconds before this account may be tried from this address again (0 = now)."""

    async def attempt(self, username: str, address: str) -> None:
        """Counted as a failure up front, so concurrent guesses cannot all slip through the check."""

    async def succeeded(self, username: str, address: str) -> None: ...


def _policies(
    account_free: int, address_free: int, base_s: float, max_s: float, window_s: float
) -> tuple[Policy, Policy]:
    return Policy(account_free, base_s, max_s, window_s), Policy(address_free, base_s, max_s, window_s)


class LoginThrottle:
    """The counts in this process's memory (bounded): enough where there is one process."""

    def __init__(
        self,
        *,
        account_free: int = 5,
        address_free: int = 20,
        base_s: float = 2.0,
        max_s: float = 900.0,
        window_s: float = 900.0,
        capacity: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.account, self.address = _policies(account_free, address_free, base_s, max_s, window_s)
        self.capacity = capacity
        self.clock = clock
        self._d: OrderedDict[tuple[str, str], Entry] = OrderedDict()

    def _keys(self, username: str, address: str) -> tuple[tuple[tuple[str, str], Policy], ...]:
        return ((("account", username.lower()), self.account), (("address", address), self.address))

    async def retry_after(self, username: str, address: str) -> float:
        now = self.clock()
        return max(wait(self._d.get(k), p, now) for k, p in self._keys(username, address))

    async def attempt(self, username: str, address: str) -> None:
        now = self.clock()
        for k, p in self._keys(username, address):
            self._d[k] = fail(self._d.get(k), p, now)
            self._d.move_to_end(k)
        while len(self._d) > self.capacity:
            self._d.popitem(last=False)

    async def succeeded(self, username: str, address: str) -> None:
        for (k, _p), all_of_it in zip(self._keys(username, address), (True, False), strict=True):
            e = forgive(self._d.get(k), all_of_it=all_of_it)
            if e is None:
                self._d.pop(k, None)
            else:
                self._d[k] = e


def _hashed(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


class SharedLoginThrottle:
    """The counts in PostgreSQL, shared by every process on the database."""

    def __init__(
        self,
        sessionmaker: Any,
        *,
        account_free: int = 5,
        address_free: int = 20,
        base_s: float = 2.0,
        max_s: float = 900.0,
        window_s: float = 900.0,
        clock: Callable[[], float] = time.time,  # wall time: the processes share it
    ) -> None:
        self.maker = sessionmaker
        self.account, self.address = _policies(account_free, address_free, base_s, max_s, window_s)
        self.clock = clock
        self._swept = 0.0

    def _keys(self, username: str, address: str) -> dict[str, Policy]:
        return {_hashed("account", username.lower()): self.account, _hashed("address", address): self.address}

    @staticmethod
    async def _rows(session: Any, keys: list[str], *, lock: bool) -> dict[str, Entry]:
        q = select(LoginFailures).where(LoginFailures.key.in_(keys)).order_by(LoginFailures.key)
        rows = await session.scalars(q.with_for_update() if lock else q)
        return {r.key: Entry(r.failures, r.last_at, r.locked_until) for r in rows}

    async def retry_after(self, username: str, address: str) -> float:
        keys = self._keys(username, address)
        now = self.clock()
        async with self.maker() as session:
            rows = await self._rows(session, sorted(keys), lock=False)
        return max(wait(rows.get(k), p, now) for k, p in keys.items())

    async def attempt(self, username: str, address: str) -> None:
        keys = self._keys(username, address)
        order = sorted(keys)  # rows locked in one order by every process: no deadlock between two logins
        async with self.maker() as session:
            await session.execute(
                insert(LoginFailures)
                .values([{"key": k, "failures": 0, "last_at": 0.0, "locked_until": 0.0} for k in order])
                .on_conflict_do_nothing(index_elements=[LoginFailures.key])
            )
            rows = await self._rows(session, order, lock=True)
            now = self.clock()
            for k in order:
                e = fail(rows.get(k), keys[k], now)  # a new row (last_at 0) counts as forgotten
                await session.execute(
                    update(LoginFailures)
                    .where(LoginFailures.key == k)
                    .values(failures=e.failures, last_at=e.last_at, locked_until=e.locked_until)
                )
            if now - self._swept > SWEEP_S:
                self._swept = now
                horizon = now - max(self.account.window_s, self.address.window_s)
                await session.execute(
                    delete(LoginFailures).where(
                        LoginFailures.last_at < horizon, LoginFailures.locked_until < now
                    )
                )
            await session.commit()

    async def succeeded(self, username: str, address: str) -> None:
        keys = self._keys(username, address)
        order = sorted(keys)
        account_key = _hashed("account", username.lower())
        async with self.maker() as session:
            rows = await self._rows(session, order, lock=True)
            for k in order:
                e = forgive(rows.get(k), all_of_it=k == account_key)
                if e is None:
                    await session.execute(delete(LoginFailures).where(LoginFailures.key == k))
                else:
                    await session.execute(
                        update(LoginFailures).where(LoginFailures.key == k).values(failures=e.failures)
                    )
            await session.commit()


def login_throttle(url: str, sessionmaker: Any, **kw: Any) -> LoginThrottle | SharedLoginThrottle:
    return SharedLoginThrottle(sessionmaker, **kw) if is_pg(url) else LoginThrottle(**kw)
