"""The routing decision for one incoming call: pure data in, data out, never raises."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from .config import HotlineConfig, Platform
from .region import resolve_region

Route = Literal["queue", "voicemail"]
LAST_RESORT_QUEUE = "q-province"  # only if even the config is unusable


@dataclass(frozen=True)
class CallContext:
    caller_id: str | None
    caller_name: str | None = None
    dnid: str = "12345"
    trunk: str | None = None
    queue_agents: Mapping[str, int] | None = None  # logged-in, unpaused agents; None = unknown


@dataclass(frozen=True)
class Decision:
    route: Route
    platform: str
    prefecture: str | None
    queue: str | None
    overflow_queue: str | None
    overflow_after_s: int
    mailbox: str | None
    greeting: str | None
    caller_e164: str | None
    caller_kind: str
    reason: str
    is_open: bool
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["warnings"] = list(self.warnings)
        return d


def _local_now(now: datetime, config: HotlineConfig, warnings: list[str]) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        warnings.append(f"naive datetime {now.isoformat()} treated as {config.timezone} local time")
        return now.replace(tzinfo=config.zone)
    return now.astimezone(config.zone)


def _is_open(
    platform: Platform, local: datetime, config: HotlineConfig, warnings: list[str]
) -> tuple[bool, str]:
    if platform.hours.always_open:
        return True, "open 7x24"
    workday, _warning = config.calendar.is_workday_or_guess(local.date())  # gap warned by caller
    if not workday:
        return False, "closed (not a working day)"
    if not platform.hours.in_window(local.time()):
        return False, "closed (outside working hours)"
    return True, "open"


def _agents(ctx: CallContext, queue: str) -> int | None:
    if ctx.queue_agents is None:
        return None
    n = ctx.queue_agents.get(queue)
    if isinstance(n, bool) or not isinstance(n, int | float):
        return None  # missing or garbage count: assume staffed
    return int(n)


def _decide(ctx: CallContext, now: datetime, config: HotlineConfig) -> Decision:
    warnings: list[str] = []
    local = _local_now(now, config, warnings)
    if not config.calendar.has_year(local.year):
        warnings.append(
            f"no holiday calendar for {local.year}: load it with `hotline calendar load FILE`; "
            "working days are guessed as Monday-Friday"
        )
    region = resolve_region(ctx.caller_id, ctx.trunk, config)
    province = config.province_platform
    platform = config.platform(region.prefecture) if region.prefecture else province
    kind = region.kind.replace("_", " ")
    who = f"{region.prefecture} {kind}" if region.prefecture else f"{kind} caller -> province"
    is_open, state = _is_open(platform, local, config, warnings)
    state = f"platform {state}"
    common: dict[str, Any] = dict(
        platform=platform.code,
        prefecture=region.prefecture,
        overflow_after_s=config.overflow_after_s,
        mailbox=platform.mailbox,
        greeting=config.greeting,
        caller_e164=region.e164,
        caller_kind=region.kind,
        is_open=is_open,
        warnings=tuple(warnings),
    )
    if not is_open:
        return Decision(
            route="voicemail", queue=None, overflow_queue=None, reason=f"{who}, {state}", **common
        )
    queue = platform.queues[0]
    overflow: str | None = config.overflow_queue
    if platform.kind == "province" or overflow == queue:
        overflow = None
    reason = f"{who}, {state}"
    if _agents(ctx, queue) == 0 and overflow is not None:
        reason += f"; no agents in {queue}, sent straight to {overflow} (多援一)"
        queue, overflow = overflow, None
        if _agents(ctx, queue) == 0:
            reason += f"; {queue} has no agents either, waiting there before voicemail"
    elif _agents(ctx, queue) == 0:
        reason += f"; no agents in {queue}, waiting there before voicemail"
    return Decision(route="queue", queue=queue, overflow_queue=overflow, reason=reason, **common)


def _fallback(ctx: Any, config: Any, exc: BaseException) -> Decision:
    queue = getattr(config, "default_queue", None)
    if not isinstance(queue, str) or not queue:
        queue = LAST_RESORT_QUEUE
    after = getattr(config, "overflow_after_s", 0)
    greeting = getattr(config, "greeting", None)
    caller = getattr(ctx, "caller_id", None)
    return Decision(
        route="queue",
        platform="province",
        prefecture=None,
        queue=queue,
        overflow_queue=None,
        overflow_after_s=after if isinstance(after, int) else 0,
        mailbox=None,
        greeting=greeting if isinstance(greeting, str) else None,
        caller_e164=None,
        caller_kind="invalid" if caller else "anonymous",
        reason=f"internal error ({type(exc).__name__}): sent to default queue {queue}",
        is_open=True,
        warnings=(f"decide failed: {type(exc).__name__}: {exc}"[:300],),
    )


def decide(ctx: CallContext, now: datetime, config: HotlineConfig) -> Decision:
    """Route one call. Pure (no I/O) and total: any internal error → default queue."""
    try:
        return _decide(ctx, now, config)
    except Exception as exc:  # noqa: BLE001 — a caller must never be stranded
        return _fallback(ctx, config, exc)
