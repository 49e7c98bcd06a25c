"""Flood limits that hold across the service's processes: at most ``limit`` hits per key (a client's
address, a citizen's account on a channel) within ``window_s``. A refused hit is not counted.

- PostgreSQL (several processes): :class:`SharedWindows` counts in ``flood_counters``, one row per key
  and time bucket (a tenth of the window). One short transaction per hit: add 1 to the current bucket
  (an upsert: it holds the row's lock until the commit, so concurrent hits on one key, from any
  process, are counted one after the other), sum the window's buckets, and take the hit back when the
  sum is over the limit. Expired rows are deleted now and then. Keys are stored hashed (no address in
  the table).
- SQLite (one process): :class:`LocalWindows`, the same limits in memory.

``limiter(url, sessionmaker)`` picks one. Kernel module: imports only the kernel (db, pg)."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict, deque
from typing import Any, Protocol

from sqlalchemy import BigInteger, Integer, String, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.pg import is_pg

BUCKETS = 10  # a window is counted in this many buckets (the limit holds to within one bucket's age)
SWEEP_S = 60.0  # how often one process deletes expired rows


class FloodCounter(Base):
    __tablename__ = "flood_counters"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the key
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # epoch seconds // bucket length
    hits: Mapped[int] = mapped_column(Integer)
    expires: Mapped[int] = mapped_column(BigInteger, index=True)  # epoch seconds: no longer counted after


class Limiter(Protocol):
    async def hit(self, key: str, limit: int, window_s: float) -> float | None:
        """Count one hit for ``key``: None when allowed, else seconds until one would be."""


class LocalWindows:
    """Sliding windows in this process's memory (bounded): enough where there is one process."""

    def __init__(self, max_keys: int = 50_000) -> None:
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self.max_keys = max_keys

    def hit_now(self, key: str, limit: int, window_s: float, now: float | None = None) -> float | None:
        now = time.monotonic() if now is None else now
        q = self._hits.get(key)
        if q is None:
            q = self._hits[key] = deque()
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
        else:
            self._hits.move_to_end(key)
        while q and q[0] <= now - window_s:
            q.popleft()
        if len(q) >= limit:
            return max(0.0, q[0] + window_s - now)
        q.append(now)
        return None

    async def hit(self, key: str, limit: int, window_s: float) -> float | None:
        return self.hit_now(key, limit, window_s)


class SharedWindows:
    """Windows counted in PostgreSQL, shared by every process on the database."""

    def __init__(self, sessionmaker: Any) -> None:
        self.maker = sessionmaker
        self._swept = 0.0

    async def hit(self, key: str, limit: int, window_s: float, now: float | None = None) -> float | None:
        now = time.time() if now is None else now
        size = window_s / BUCKETS
        current = int(now // size)
        first = current - BUCKETS + 1
        k = hashlib.sha256(key.encode()).hexdigest()
        row = FloodCounter.key == k
        async with self.maker() as session:
            await session.execute(
                insert(FloodCounter)
                .values(key=k, bucket=current, hits=1, expires=int((current + BUCKETS) * size) + 1)
                .on_conflict_do_update(
                    index_elements=[FloodCounter.key, FloodCounter.bucket],
                    set_={"hits": FloodCounter.hits + 1},
                )
            )
            counted = await session.scalar(
                select(func.coalesce(func.sum(FloodCounter.hits), 0)).where(row, FloodCounter.bucket >= first)
            )
            wait = None
            if counted > limit:  # refused: the hit is taken back
                await session.execute(
                    update(FloodCounter)
                    .where(row, FloodCounter.bucket == current)
                    .values(hits=FloodCounter.hits - 1)
                )
                oldest = await session.scalar(
                    select(func.min(FloodCounter.bucket)).where(
                        row, FloodCounter.bucket >= first, FloodCounter.hits > 0
                    )
                )
                wait = max(0.0, ((oldest if oldest is not None else current) + BUCKETS) * size - now)
            if now - self._swept > SWEEP_S:
                self._swept = now
                await session.execute(delete(FloodCounter).where(FloodCounter.expires < int(now)))
            await session.commit()
        return wait


def limiter(url: str, sessionmaker: Any) -> Limiter:
    return SharedWindows(sessionmaker) if is_pg(url) else LocalWindows()
