"""Waiting on conditions, never on the clock: ``wait_until`` polls a condition until it holds or a
timeout passes, and on failure says what it waited for and the last thing it saw.

    row = await wait_until(lambda: read_row(app, uid), 30, "the call row of " + uid)
    await wait_until(lambda: len(events) == 3, 10, "three Hangup events")

The condition may be a plain or an async callable; its truthy result is returned. An exception from
the condition counts as "not yet" and is reported if the time runs out. Timeouts are generous on
purpose (the machine is shared and loaded): a slow pass costs seconds, a flaky failure costs trust.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """The awaited condition did not hold in time (an AssertionError, so pytest reports it as a failure)."""


def _describe(what: str, timeout: float, last: Any, error: BaseException | None, describe: Any) -> str:
    msg = f"timed out after {timeout:g} s waiting for {what}; last seen: {last!r}"
    if error is not None:
        msg += f"; last error: {type(error).__name__}: {error}"
    if describe is not None:
        msg += f"; state: {describe}"
    return msg


async def wait_until(
    cond: Callable[[], T | Awaitable[T]],
    timeout: float,
    what: str,
    *,
    interval: float = 0.05,
    check: Callable[[Any], Any] | None = None,
    describe: Callable[[], Any] | None = None,
) -> T:
    """Poll ``cond`` until it returns something truthy — or, with ``check``, something ``check``
    accepts — and return it; after ``timeout`` seconds raise ``WaitTimeout`` naming ``what``, the
    last value seen and, if given, ``describe()``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    error: BaseException | None = None
    while True:
        try:
            value = cond()
            if inspect.isawaitable(value):
                value = await value
            last, error = value, None
            if check(value) if check is not None else value:
                return value  # type: ignore[return-value]
        except AssertionError:
            raise
        except Exception as exc:  # noqa: BLE001 - "not yet"; reported if it never passes
            error = exc
        if time.monotonic() >= deadline:
            extra = None
            if describe is not None:
                extra = describe()
                if inspect.isawaitable(extra):
                    extra = await extra
            raise WaitTimeout(_describe(what, timeout, last, error, extra))
        await asyncio.sleep(interval)


def wait_until_sync(
    cond: Callable[[], T], timeout: float, what: str, *, interval: float = 0.05,
    check: Callable[[Any], Any] | None = None, describe: Callable[[], Any] | None = None,
) -> T:  # fmt: skip
    """``wait_until`` for code outside an event loop (threads, subprocess checks)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    error: BaseException | None = None
    while True:
        try:
            last, error = cond(), None
            if check(last) if check is not None else last:
                return last
        except AssertionError:
            raise
        except Exception as exc:  # noqa: BLE001
            error = exc
        if time.monotonic() >= deadline:
            raise WaitTimeout(_describe(what, timeout, last, error, describe() if describe else None))
        time.sleep(interval)
