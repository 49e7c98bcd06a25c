"""What case logic needs from the running service: rules, calendar, zone, known platforms.

The service functions keep the signatures other domains call (``create_case(session, data, actor)``),
so the context is installed once per process by the case scheduler starter (``install``) and may be
passed explicitly (``ctx=``) — tests and tools do that."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from app.cases.deadlines import Clock
from app.cases.rules import CaseRules, rules_of
from app.runtime import Key
from callflow import HotlineConfig

#: Called inside the transaction after every transition the service applies (session, case, audit row):
#: the exchange (app/exchange) queues its messages to peers here, so they commit with the transition.
TransitionListener = Callable[[Any, Any, Any], Awaitable[None]]


@dataclass
class CaseContext:
    rules: CaseRules
    config: HotlineConfig
    # platform code -> the peer deployment that serves it (settings.exchange_peers): cases held there
    # are mirrors here, followed and never acted on
    remote: dict[str, str] = field(default_factory=dict)
    # the platforms this deployment serves (settings.exchange_platforms); None: every platform not remote
    local: frozenset[str] | None = None
    listeners: list[TransitionListener] = field(default_factory=list)

    def held_remotely(self, status: str, platform: str, transfer_to: str | None) -> str | None:
        """Who holds a case held elsewhere (the receiver while a 移交 waits): the peer serving its
        platform, or the platform itself when no peer serves it here; None when it is held here."""
        holder = transfer_to if status == "handed_over" and transfer_to else platform
        if holder in self.remote:
            return self.remote[holder]
        return None if self.local is None or holder in self.local else holder

    @property
    def zone(self) -> ZoneInfo:
        return self.config.zone

    def clock(self) -> Clock:
        return Clock(self.config.calendar, self.config.zone, self.rules)

    def has_platform(self, code: str) -> bool:
        return any(p.code == code for p in self.config.platforms)

    @property
    def provincial(self) -> str:
        """The provincial platform's code (the platform config names it)."""
        return self.config.province_platform.code

    def prefix(self, platform: str) -> str:
        """Case-number prefix: the case rules' override, else the platform config's case_prefix."""
        return self.rules.number_prefixes.get(platform) or self.config.case_prefix(platform)


_current: CaseContext | None = None
CASE_CONTEXT: Key[CaseContext] = Key("case_context")


def install(runtime: Any) -> CaseContext:
    global _current
    settings = runtime.settings
    remote = {p: peer.name for peer in settings.exchange_peers for p in peer.platforms}
    local = frozenset(settings.exchange_platforms) if settings.exchange_platforms else None
    _current = CaseContext(rules_of(runtime), runtime.config, remote, local)
    runtime.put(CASE_CONTEXT, _current)
    return _current


def of_runtime(runtime: Any) -> CaseContext:
    ctx = runtime.get(CASE_CONTEXT)
    return ctx if ctx is not None else install(runtime)


def current(ctx: CaseContext | None = None) -> CaseContext:
    global _current
    if ctx is not None:
        return ctx
    if _current is None:
        from callflow import load_config

        _current = CaseContext(CaseRules(), load_config())
    return _current
