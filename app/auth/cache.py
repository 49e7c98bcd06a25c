"""A short-lived in-process cache of checked sessions, so a read request costs no query for
authentication (docs/adr/session-cache.md).

Only reads (GET/HEAD) use it; every write still loads the user in its own transaction. An entry holds
the user row as it was read and is trusted only for the same session version, and only for
``ttl_s`` seconds. Revocation: the routes that end sessions (logout, password change, disabling,
reset) publish ``auth.sessions_ended`` after their commit and the cache drops that user at once; a
change made where no hub runs (``hotline user`` on the command line, another process) is seen when the
entry expires, at most ``ttl_s`` later. Entries are read-only snapshots shared by concurrent requests.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from app.auth.models import User


class SessionCache:
    def __init__(self, ttl_s: float, capacity: int = 20000, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.capacity = capacity
        self.clock = clock
        self._d: OrderedDict[int, tuple[User, float]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, uid: int, version: int) -> User | None:
        """The cached user when the entry is fresh and was read under this session version."""
        e = self._d.get(uid)
        if e is None or e[1] <= self.clock() or (e[0].session_version or 0) != version:
            self.misses += 1
            return None
        self.hits += 1
        return e[0]

    def put(self, user: User) -> None:
        if self.ttl_s <= 0:
            return
        self._d[user.id] = (user, self.clock() + self.ttl_s)
        self._d.move_to_end(user.id)
        while len(self._d) > self.capacity:
            self._d.popitem(last=False)

    def evict(self, uid: int) -> None:
        self._d.pop(uid, None)

    def clear(self) -> None:
        self._d.clear()

    async def on_event(self, ev: Any) -> None:
        """Hub handler for ``auth.sessions_ended``: the user's cached session is gone at once."""
        uid = ev.data.get("user_id")
        if isinstance(uid, int):
            self.evict(uid)
