"""Queue call-back (排队回拨), pure: who is offered a call-back, when, and where the request waits.

A caller who has waited ``offer_after_s`` in a queue hears ONE offer ("press 1 and we call you
back") — a single key after the wait, never a menu before the agent. Pressing it ends the call and
leaves a *placeholder* in the same queue at the caller's position (``placeholder_position``): the
queue itself serves it in order, and when an agent takes it the citizen's phone is dialled (agent
first; docs/adr/2026-12-02-queue-callback.md). See asterisk_conf/callback.py for the dialplan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

KEYS = "123456789"


class CallbackConfigError(ValueError):
    """The `queue_callback` section is invalid; the message says which and why."""


@dataclass(frozen=True)
class CallbackSettings:
    offer_after_s: int = 0  # 0: no offer anywhere
    key: str = "1"
    ring_s: int = 30  # how long the citizen's phone rings when called back
    answer_s: int = 6  # how long the key is awaited after the offer
    hold_max_s: int = 7200  # how long a placeholder waits in the queue before the request expires
    platforms: tuple[str, ...] | None = None  # platforms offering it; None = every platform
    retries: int = 2  # a citizen who does not answer (or is busy) is called back again this many times
    retry_interval_s: int = 300  # ... this long after the unanswered attempt

    def enabled_for(self, platform: str) -> bool:
        return self.offer_after_s > 0 and (self.platforms is None or platform in self.platforms)


def callable_number(caller_e164: str | None, caller_kind: str) -> str | None:
    """The number to call back, as digits (a national number: 0 + area code for landlines, mobiles as
    they are), or None when the caller cannot be called back (anonymous, invalid, international)."""
    if not caller_e164 or caller_kind in ("anonymous", "invalid", "international"):
        return None
    digits = re.sub(r"[^0-9]", "", caller_e164)
    if not digits.startswith("86") or len(digits) < 7:
        return None
    national = digits[2:]
    return national if national.startswith("1") else "0" + national


def offer_after(
    settings: CallbackSettings, platform: str, caller_e164: str | None, caller_kind: str, wait_limit_s: int
) -> int:
    """Seconds in queue before the one offer, or 0 for none: the feature is off for the platform,
    the caller cannot be called back, or the wait ends (overflow/voicemail) before the offer."""
    if not settings.enabled_for(platform) or callable_number(caller_e164, caller_kind) is None:
        return 0
    if wait_limit_s and settings.offer_after_s >= wait_limit_s:
        return 0
    return settings.offer_after_s


UNANSWERED = ("NOANSWER", "BUSY", "CONGESTION", "CHANUNAVAIL")  # Dial's DIALSTATUS worth another try


def next_attempt(settings: CallbackSettings, attempts: int, dialstatus: str, now: datetime) -> datetime | None:
    """When to call the citizen again after attempt number ``attempts`` ended with ``dialstatus``
    without a conversation: ``retry_interval_s`` later while retries are left; None: give up (the
    retries are spent, or the status is not one another try can fix, e.g. the agent hung up)."""
    if dialstatus not in UNANSWERED or attempts > settings.retries:
        return None
    return now + timedelta(seconds=settings.retry_interval_s)


def placeholder_position(position: Any) -> int:
    """Where the placeholder joins: the position the caller had when the offer was made (Asterisk's
    QUEUEPOSITION), so callers who came later stay behind it; unknown → the head (the caller has
    waited the whole offer time: longer than anybody who joined since)."""
    try:
        n = int(str(position).strip())
    except ValueError:
        return 1
    return n if n >= 1 else 1


def parse_callback(raw: Any) -> CallbackSettings:
    """The `queue_callback` section of a platform YAML (absent: no offer)."""
    if raw is None:
        return CallbackSettings()
    if not isinstance(raw, dict):
        raise CallbackConfigError("'queue_callback' must be a mapping {offer_after_s: ..., key: ...}")
    after = raw.get("offer_after_s", 0)
    if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= 3600:
        raise CallbackConfigError(f"queue_callback.offer_after_s must be an integer 0-3600, got {after!r}")
    key = str(raw.get("key", "1"))
    if len(key) != 1 or key not in KEYS:
        raise CallbackConfigError(f"queue_callback.key must be one digit 1-9, got {raw.get('key')!r}")
    ring = raw.get("ring_s", 30)
    if not isinstance(ring, int) or isinstance(ring, bool) or not 5 <= ring <= 120:
        raise CallbackConfigError(f"queue_callback.ring_s must be an integer 5-120, got {ring!r}")
    numbers = {}
    for name, low, high, default in (("answer_s", 2, 30, 6), ("hold_max_s", 60, 86400, 7200), ("retries", 0, 5, 2),
                                     ("retry_interval_s", 5, 86400, 300)):  # fmt: skip
        v = raw.get(name, default)
        if not isinstance(v, int) or isinstance(v, bool) or not low <= v <= high:
            raise CallbackConfigError(f"queue_callback.{name} must be an integer {low}-{high}, got {v!r}")
        numbers[name] = v
    platforms = raw.get("platforms")
    if platforms is not None and (
        not isinstance(platforms, list) or not all(isinstance(p, str) for p in platforms)
    ):
        raise CallbackConfigError("queue_callback.platforms must be a list of platform codes")
    return CallbackSettings(
        after,
        key,
        ring,
        numbers["answer_s"],
        numbers["hold_max_s"],
        tuple(platforms) if platforms is not None else None,
        numbers["retries"],
        numbers["retry_interval_s"],
    )
