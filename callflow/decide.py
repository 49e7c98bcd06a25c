"""The routing decision for one incoming call: pure data in, data out, never raises."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Literal

from .callback import offer_after
from .config import HotlineConfig, Platform
from .hotlines import normalise_did
from .region import resolve_region
from .skills import routed_suffix

Route = Literal["queue", "voicemail"]
LAST_RESORT_QUEUE = "q-province"  # only if even the config is unusable
LAST_RESORT_PLATFORM = "province"  # likewise; otherwise the platform owning the default queue


@dataclass(frozen=True)
class CallContext:
    caller_id: str | None
    caller_name: str | None = None
    dnid: str = "12345"
    trunk: str | None = None
    queue_agents: Mapping[str, int] | None = None  # signed-in agents not on a break (wrap-up counts); None = unknown
    queue_waiting: Mapping[str, int] | None = None  # callers waiting per queue; None = unknown


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
    hotline: str = "12345"  # the source hotline the citizen dialled (并号/分线); unknown DID: 12345
    hotline_name: str = ""
    dnid: str = ""  # the dialled number, normalised ("" when none or garbled)
    skill: str | None = None  # the skill group that answers the source hotline
    category: str | None = None  # case category prefilled for the source hotline
    notice: str | None = None  # prompt played once before the queue or the mailbox
    # appended to the queue names in the dialplan: the skill queue (callflow.skills), "" = none
    skill_suffix: str = ""
    # seconds in queue before the one call-back offer (callflow.callback); 0 = no offer
    callback_after_s: int = 0

    def to_dict(self) -> dict[str, Any]:
        # every field is a str, int, bool or None but the warnings: a shallow copy (asdict deep-copies
        # each value, and this runs for every call)
        d = {name: getattr(self, name) for name in _DECISION_FIELDS}
        d["warnings"] = list(self.warnings)
        return d


_DECISION_FIELDS = tuple(f.name for f in fields(Decision))


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


def _closed_pool(
    ctx: CallContext, platform: Platform, local: datetime, config: HotlineConfig, warnings: list[str]
) -> tuple[str | None, str]:
    """The provincial 7×24 pool a closed platform sends its callers to, or None for its mailbox,
    with the reason's tail."""
    mode = platform.when_closed
    pool = config.overflow_queue
    owner = config.platform_for_queue(pool)
    if mode == "voicemail" or owner is None or owner.code == platform.code:
        return None, ""
    pool_open, _ = _is_open(owner, local, config, warnings)
    if not pool_open:
        return None, f"; pool {pool} closed too, voicemail"
    if mode == "pool":
        return pool, f"; sent to the 7x24 pool {pool}"
    staffed = _agents(ctx, pool)
    if staffed == 0:
        return None, f"; pool {pool} has no agents, voicemail"
    waiting = _waiting(ctx, pool)
    if staffed is not None and waiting is not None and waiting >= staffed * config.pool_waiting_per_agent:
        return None, f"; pool {pool} saturated ({waiting} waiting for {staffed} agents), voicemail"
    staffing = "staffed" if staffed is not None else "agents unknown, assumed staffed"
    return pool, f"; sent to the 7x24 pool {pool} ({staffing})"


def _waiting(ctx: CallContext, queue: str) -> int | None:
    if ctx.queue_waiting is None:
        return None
    n = ctx.queue_waiting.get(queue, 0)
    if isinstance(n, bool) or not isinstance(n, int | float):
        return None
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
    hotline, known = config.hotlines.resolve(ctx.dnid)
    did = normalise_did(ctx.dnid)
    if not known and did and did != hotline.code:
        warnings.append(f"unknown dialled number {did!r}: routed as {hotline.code}")
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
        hotline=hotline.code,
        hotline_name=hotline.name,
        dnid=did,
        skill=hotline.skill,
        category=hotline.category,
        notice=hotline.notice,
        skill_suffix=routed_suffix(hotline.skill, config.routed_skills),
        callback_after_s=offer_after(
            config.queue_callback, platform.code, region.e164, region.kind, config.overflow_after_s
        ),
    )
    if hotline.kind != "unified":
        who = f"{who} via {hotline.code} ({hotline.kind})"
    if not is_open:
        pool, why = _closed_pool(ctx, platform, local, config, warnings)
        if pool is None:
            return Decision(
                route="voicemail", queue=None, overflow_queue=None, reason=f"{who}, {state}{why}", **common
            )
        return Decision(route="queue", queue=pool, overflow_queue=None, reason=f"{who}, {state}{why}", **common)
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


def _fallback_platform(config: Any, queue: str) -> str:
    """The platform owning the default queue (the provincial pool), as far as the config still tells."""
    try:
        owner = config.platform_for_queue(queue) or config.province_platform
        return str(owner.code)
    except Exception:  # noqa: BLE001 - the fallback must not fail
        return LAST_RESORT_PLATFORM


def _fallback(ctx: Any, config: Any, exc: BaseException) -> Decision:
    queue = getattr(config, "default_queue", None)
    if not isinstance(queue, str) or not queue:
        queue = LAST_RESORT_QUEUE
    after = getattr(config, "overflow_after_s", 0)
    greeting = getattr(config, "greeting", None)
    caller = getattr(ctx, "caller_id", None)
    return Decision(
        route="queue",
        platform=_fallback_platform(config, queue),
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
