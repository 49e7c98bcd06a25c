"""Login throttling per account and per address: a few free failures, then an exponentially growing
lockout (capped). In memory, per process: a restart forgets it, and several worker processes each keep
their own count (the limit is then per worker) — enough to turn an online guessing attack from
thousands of tries a minute into a handful."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Entry:
    failures: int
    last_at: float
    locked_until: float


class _Counter:
    def __init__(self, free: int, base_s: float, max_s: float, window_s: float, capacity: int) -> None:
        self.free, self.base_s, self.max_s, self.window_s = free, base_s, max_s, window_s
        self.capacity = capacity
        self._d: OrderedDict[str, _Entry] = OrderedDict()

    def wait(self, key: str, now: float) -> float:
        e = self._d.get(key)
        if e is None:
            return 0.0
        if now - e.last_at > max(self.window_s, e.locked_until - e.last_at):
            del self._d[key]
            return 0.0
        return max(0.0, e.locked_until - now)

    def fail(self, key: str, now: float) -> None:
        e = self._d.get(key)
        if e is None or now - e.last_at > max(self.window_s, e.locked_until - e.last_at):
            e = _Entry(0, now, now)
        e.failures += 1
        e.last_at = now
        over = e.failures - self.free + 1  # the free-th failure already locks the next try
        if over > 0:
            e.locked_until = now + min(self.max_s, self.base_s * 2 ** min(over - 1, 30))
        self._d[key] = e
        self._d.move_to_end(key)
        while len(self._d) > self.capacity:
            self._d.popitem(last=False)

    def forgive(self, key: str, *, all_of_it: bool) -> None:
        e = self._d.get(key)
        if e is None:
            return
        if all_of_it or e.failures <= 1:
            del self._d[key]
        else:
            e.failures -= 1


class LoginThrottle:
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
        self.accounts = _Counter(account_free, base_s, max_s, window_s, capacity)
        self.addresses = _Counter(address_free, base_s, max_s, window_s, capacity)
        self.clock = clock

    def retry_after(self, username: str, address: str) -> float:
        """Seconds before this account may be tried from this address again (0 = now)."""
        now = self.clock()
        return max(self.accounts.wait(username.lower(), now), self.addresses.wait(address, now))

    def attempt(self, username: str, address: str) -> None:
        """Counted as a failure up front, so concurrent guesses cannot all slip through the check."""
        now = self.clock()
        self.accounts.fail(username.lower(), now)
        self.addresses.fail(address, now)

    def succeeded(self, username: str, address: str) -> None:
        self.accounts.forgive(username.lower(), all_of_it=True)
        self.addresses.forgive(address, all_of_it=False)
