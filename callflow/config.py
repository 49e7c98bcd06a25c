"""Platform configuration: one YAML per province (``callflow/configs/<province>.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from .calendar import WorkCalendar, normalise_windows

PlatformKind = Literal["province", "prefecture"]
HoursMode = Literal["7x24", "workdays"]
PROVINCE_CODE = "province"


class ConfigError(ValueError):
    """The platform configuration is invalid; the message says where and why."""


@dataclass(frozen=True)
class Hours:
    mode: HoursMode
    windows: tuple[tuple[time, time], ...] = ()

    @property
    def always_open(self) -> bool:
        return self.mode == "7x24"

    def in_window(self, t: time) -> bool:
        """True when clock time ``t`` is inside a window (start inclusive, end exclusive)."""
        return any(start <= t < end for start, end in self.windows)


@dataclass(frozen=True)
class Platform:
    code: str
    name: str
    short_name: str
    kind: PlatformKind
    geo_names: tuple[str, ...]
    queues: tuple[str, ...]
    hours: Hours
    trunks: tuple[str, ...]
    mailbox: str


@dataclass(frozen=True)
class HotlineConfig:
    province: str
    name: str
    timezone: str
    platforms: tuple[Platform, ...]
    default_queue: str
    overflow_queue: str
    overflow_after_s: int
    greeting: str
    calendar: WorkCalendar = field(compare=False, repr=False)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def province_platform(self) -> Platform:
        return next(p for p in self.platforms if p.kind == "province")

    @property
    def prefectures(self) -> tuple[Platform, ...]:
        return tuple(p for p in self.platforms if p.kind == "prefecture")

    def platform(self, code: str) -> Platform:
        """The platform with this code; KeyError if there is none."""
        for p in self.platforms:
            if p.code == code:
                return p
        raise KeyError(f"unknown platform {code!r}")

    def platform_for_trunk(self, name: str | None) -> Platform | None:
        """The platform whose local calls arrive on trunk ``name`` (None if no platform owns it)."""
        if not name:
            return None
        for p in self.platforms:
            if name in p.trunks:
                return p
        return None

    def platform_for_queue(self, queue: str) -> Platform | None:
        for p in self.platforms:
            if queue in p.queues:
                return p
        return None

    def all_queues(self) -> tuple[str, ...]:
        return tuple(q for p in self.platforms for q in p.queues)


def default_config_path() -> Path:
    """The shipped Yunnan configuration."""
    return Path(__file__).with_name("configs") / "yunnan.yaml"


def _str(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: '{key}' must be a non-empty string, got {value!r}")
    return value.strip()


def _str_list(data: dict[str, Any], key: str, where: str, *, required: bool = True) -> tuple[str, ...]:
    value = data.get(key, [] if not required else None)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: '{key}' must be a list of non-empty strings, got {value!r}")
    if required and not value:
        raise ConfigError(f"{where}: '{key}' must not be empty")
    return tuple(v.strip() for v in value)


def _hours(raw: Any, where: str) -> Hours:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: 'hours' must be a mapping like {{mode: 7x24}}, got {raw!r}")
    mode = raw.get("mode")
    if mode == "7x24":
        if raw.get("windows"):
            raise ConfigError(f"{where}: a 7x24 platform must not list windows")
        return Hours("7x24")
    if mode != "workdays":
        raise ConfigError(f"{where}: hours.mode must be '7x24' or 'workdays', got {mode!r}")
    windows = raw.get("windows")
    if not isinstance(windows, list):
        raise ConfigError(f'{where}: hours.windows must be a list of ["HH:MM", "HH:MM"] pairs')
    for w in windows:
        if not isinstance(w, list) or any(isinstance(t, int) for t in w):
            raise ConfigError(
                f'{where}: bad window {w!r}; write times as quoted strings, e.g. ["09:00", "12:00"]'
                " (YAML reads unquoted 13:00 as the number 780)"
            )
    try:
        return Hours("workdays", normalise_windows(windows))
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: hours: {exc}") from None


def _platform(raw: Any, index: int) -> Platform:
    where = f"platforms[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a mapping")
    code = _str(raw, "code", where)
    where = f"platform {code!r}"
    kind = raw.get("kind", PROVINCE_CODE if code == PROVINCE_CODE else "prefecture")
    if kind not in ("province", "prefecture"):
        raise ConfigError(f"{where}: kind must be 'province' or 'prefecture', got {kind!r}")
    return Platform(
        code=code,
        name=_str(raw, "name", where),
        short_name=_str(raw, "short_name", where),
        kind=kind,
        geo_names=_str_list(raw, "geo_names", where, required=kind == "prefecture"),
        queues=_str_list(raw, "queues", where),
        hours=_hours(raw.get("hours"), where),
        trunks=_str_list(raw, "trunks", where, required=False),
        mailbox=_str(raw, "mailbox", where),
    )


def _check_unique(platforms: tuple[Platform, ...]) -> None:
    codes = [p.code for p in platforms]
    dup = sorted({c for c in codes if codes.count(c) > 1})
    if dup:
        raise ConfigError(f"duplicate platform code(s) {dup}")
    seen: dict[str, dict[str, str]] = {"queue": {}, "trunk": {}, "mailbox": {}, "geo name": {}}
    for p in platforms:
        values = {
            "queue": p.queues,
            "trunk": p.trunks,
            "mailbox": (p.mailbox,),
            "geo name": p.geo_names,
        }
        for what, items in values.items():
            if len(set(items)) != len(items):
                raise ConfigError(f"platform {p.code!r}: duplicate {what} in its own list {list(items)}")
            for item in items:
                owner = seen[what].setdefault(item, p.code)
                if owner != p.code:
                    raise ConfigError(
                        f"duplicate {what} {item!r}: used by platforms {owner!r} and {p.code!r}"
                    )


def parse_config(data: Any, holiday_dir: str | Path | None = None, source: str = "<config>") -> HotlineConfig:
    """Build and validate a HotlineConfig from already-parsed YAML data."""
    try:
        return _parse(data, holiday_dir)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _parse(data: Any, holiday_dir: str | Path | None) -> HotlineConfig:
    if not isinstance(data, dict):
        raise ConfigError("top level must be a mapping")
    tz = _str(data, "timezone", "top level")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown timezone {tz!r}") from None
    raw_platforms = data.get("platforms")
    if not isinstance(raw_platforms, list) or not raw_platforms:
        raise ConfigError("'platforms' must be a non-empty list")
    platforms = tuple(_platform(raw, i) for i, raw in enumerate(raw_platforms))
    _check_unique(platforms)
    provinces = [p.code for p in platforms if p.kind == "province"]
    if len(provinces) != 1:
        raise ConfigError(f"exactly one platform must have kind 'province', found {provinces}")
    queues = {q for p in platforms for q in p.queues}
    default_queue = _str(data, "default_queue", "top level")
    if default_queue not in queues:
        raise ConfigError(f"default_queue {default_queue!r} is not a queue of any platform")
    overflow = data.get("overflow")
    if not isinstance(overflow, dict):
        raise ConfigError("'overflow' must be a mapping {queue: ..., after_s: ...}")
    overflow_queue = _str(overflow, "queue", "overflow")
    if overflow_queue not in queues:
        raise ConfigError(f"overflow.queue {overflow_queue!r} is not a queue of any platform")
    after = overflow.get("after_s")
    if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= 3600:
        raise ConfigError(f"overflow.after_s must be an integer 0-3600 seconds, got {after!r}")
    try:
        calendar = WorkCalendar(holiday_dir)
    except ValueError as exc:
        raise ConfigError(f"holiday calendar: {exc}") from None
    return HotlineConfig(
        province=_str(data, "province", "top level"),
        name=_str(data, "name", "top level"),
        timezone=tz,
        platforms=platforms,
        default_queue=default_queue,
        overflow_queue=overflow_queue,
        overflow_after_s=after,
        greeting=_str(data, "greeting", "top level"),
        calendar=calendar,
    )


def load_config(path: str | Path | None = None, holiday_dir: str | Path | None = None) -> HotlineConfig:
    """Load and validate a platform YAML (None = the shipped Yunnan config)."""
    path = Path(path) if path is not None else default_config_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(data, holiday_dir, str(path))


def write_always_open(dest: str | Path, source: str | Path | None = None) -> Path:
    """A copy of a platform configuration with every platform staffed 7×24 (tests and benchmarks
    that must not depend on the hour they run at). Returns the written path."""
    data = yaml.safe_load(Path(source or default_config_path()).read_text(encoding="utf-8"))
    for platform in data["platforms"]:
        platform["hours"] = {"mode": "7x24"}
    dest = Path(dest)
    dest.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return dest
