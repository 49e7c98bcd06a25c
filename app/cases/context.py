"""What case logic needs from the running service: rules, calendar, zone, known platforms.

The service functions keep the signatures other domains call (``create_case(session, data, actor)``),
so the context is installed once per process by the case scheduler starter (``install``) and may be
passed explicitly (``ctx=``) — tests and tools do that."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from app.cases.deadlines import Clock
from app.cases.rules import CaseRules, rules_of
from callflow import HotlineConfig


@dataclass
class CaseContext:
    rules: CaseRules
    config: HotlineConfig

    @property
    def zone(self) -> ZoneInfo:
        return self.config.zone

    def clock(self) -> Clock:
        return Clock(self.config.calendar, self.config.zone, self.rules)

    def has_platform(self, code: str) -> bool:
        return any(p.code == code for p in self.config.platforms)


_current: CaseContext | None = None


def install(runtime: Any) -> CaseContext:
    global _current
    _current = CaseContext(rules_of(runtime), runtime.config)
    runtime.components["case_context"] = _current
    return _current


def of_runtime(runtime: Any) -> CaseContext:
    ctx = runtime.components.get("case_context")
    return ctx if isinstance(ctx, CaseContext) else install(runtime)


def current(ctx: CaseContext | None = None) -> CaseContext:
    global _current
    if ctx is not None:
        return ctx
    if _current is None:
        from callflow import load_config

        _current = CaseContext(CaseRules(), load_config())
    return _current
