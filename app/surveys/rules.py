"""Survey and outbound settings: defaults, overridden by settings.survey_rules ($HOTLINE_SURVEY_RULES) or
<var_dir>/survey_rules.yaml (the same pattern as the case rules)."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, Field

from app.runtime import Key
from app.surveys.schedule import CallingRules


class SurveyRules(BaseModel):
    call_start: str = "09:00"  # calling hours, platform local time
    call_end: str = "20:00"
    call_weekdays: list[int] = Field(default_factory=lambda: list(range(7)))  # Monday = 0
    max_attempts: int = 3
    retry_interval_s: float = 2 * 3600
    # concurrent outbound calls (surveys + agents' call-backs) per platform; "*" = any other platform
    outbound_limit: dict[str, int] = Field(default_factory=lambda: {"*": 2})
    # the channel a survey dials; {number} is the citizen's number. The default goes through the
    # dialplan's hotline-outbound context (the trunk in production, a simulated citizen in the sandbox)
    dial: str = "Local/{number}@hotline-outbound/n"
    originate_timeout_s: float = 30
    lease_s: float = 180  # a call not reported back within this is counted as failed and retried
    tick_s: float = 2.0  # scheduler interval; 0 disables the background scheduler
    batch: int = 50
    # extra channel variables per called number (the sandbox's simulated citizens: SIM_DTMF, ...)
    sim_vars: dict[str, str] = Field(default_factory=dict)
    callback_lookback_days: int = 7  # missed calls / voicemails listed for call-back

    def limit_for(self, platform: str | None) -> int:
        return int(self.outbound_limit.get(platform or "", self.outbound_limit.get("*", 2)))

    def calling(self, zone: ZoneInfo) -> CallingRules:
        return CallingRules(
            zone=zone,
            start=time.fromisoformat(self.call_start),
            end=time.fromisoformat(self.call_end),
            weekdays=frozenset(self.call_weekdays),
            retry_interval=timedelta(seconds=self.retry_interval_s),
            max_attempts=self.max_attempts,
        )


def load_rules(var_dir: Path | None = None, path: Path | None = None) -> SurveyRules:
    path = path or (var_dir / "survey_rules.yaml" if var_dir else None)
    if path is None or not path.exists():
        return SurveyRules()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: survey rules must be a mapping")
    return SurveyRules(**data)


SURVEY_RULES: Key[SurveyRules] = Key("survey_rules")


def rules_of(runtime: Any) -> SurveyRules:
    rules = runtime.get(SURVEY_RULES)
    if rules is None:
        rules = load_rules(runtime.settings.var_dir, runtime.settings.survey_rules)
        runtime.put(SURVEY_RULES, rules)
    return rules
