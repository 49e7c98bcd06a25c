"""Pure call-routing policy for the 12345 hotline: region, hours, overflow, voicemail.

No I/O except loading the platform YAML and holiday files. Entry point: :func:`decide`.
Pure core: imports the stdlib, yaml, phonenumbers and chinese_calendar only — never ivr's files, an
edge or app (import contracts "direction" and "pure-core"). Commits nothing, publishes nothing.
"""

from .calendar import CalendarGap, WorkCalendar
from .config import (
    ConfigError,
    HotlineConfig,
    Hours,
    Platform,
    default_config_path,
    load_config,
    parse_config,
)
from .decide import CallContext, Decision, decide
from .region import RegionResult, resolve_place, resolve_region

__all__ = [
    "CalendarGap",
    "CallContext",
    "ConfigError",
    "Decision",
    "HotlineConfig",
    "Hours",
    "Platform",
    "RegionResult",
    "WorkCalendar",
    "decide",
    "default_config_path",
    "load_config",
    "parse_config",
    "resolve_place",
    "resolve_region",
]
