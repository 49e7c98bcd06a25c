"""Platform configuration: one YAML per province (``callflow/configs/<province>.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from .calendar import WorkCalendar, normalise_windows
from .callback import CallbackConfigError, CallbackSettings, parse_callback
from .hotlines import UNIFIED, HotlineConfigError, HotlineTable, parse_hotlines
from .skills import SkillConfigError, SkillSettings, base_queue, parse_skills, skill_queue
from .transfer import TransferError, TransferSettings, parse_transfer

PlatformKind = Literal["province", "prefecture"]
# what a closed platform does with a call: its mailbox; the provincial 7×24 pool (voicemail only if
# nobody there answers in time); or the pool while it is staffed and not saturated, else the mailbox
WhenClosed = Literal["voicemail", "pool", "pool_then_voicemail"]
WHEN_CLOSED = ("voicemail", "pool", "pool_then_voicemail")
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
    case_prefix: str | None = None  # case numbers start with it (read out on the phone); None: CODE
    when_closed: WhenClosed = "voicemail"
    wrapup_s: int | None = None  # after-call work (话后处理) Asterisk enforces; None: the top-level value


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
    # the pool counts as saturated when this many callers per staffed agent already wait there
    pool_waiting_per_agent: int = 2
    hotlines: HotlineTable = field(default_factory=lambda: HotlineTable((UNIFIED,)))
    transfer: TransferSettings = field(default_factory=TransferSettings)
    # after-call work (话后处理) in seconds: queues.conf wrapuptime of every queue (a platform may set its
    # own); Asterisk offers the agent no call meanwhile, the desktop shows 话后处理 as long. 0: none
    wrapup_s: int = 0
    skills: SkillSettings = field(default_factory=SkillSettings)
    queue_callback: CallbackSettings = field(default_factory=CallbackSettings)

    def wrapup_for_queue(self, queue: str) -> int:
        p = self.platform_for_queue(queue)
        return p.wrapup_s if p is not None and p.wrapup_s is not None else self.wrapup_s

    @property
    def routed_skills(self) -> tuple[str, ...]:
        """Skills that have skill queues: declared under `skills` and named by a hotline."""
        named = {h.skill for h in self.hotlines.hotlines if h.skill}
        return tuple(g.code for g in self.skills.groups if g.code in named)

    def skill_queues(self) -> tuple[str, ...]:
        return tuple(skill_queue(q, s) for q in self.all_queues() for s in self.routed_skills)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def province_platform(self) -> Platform:
        """The provincial platform (kind "province"): its users see every platform; the fallback."""
        return next(p for p in self.platforms if p.kind == "province")

    def case_prefix(self, code: str) -> str:
        """The case-number prefix of a platform (its ``case_prefix``, else its code in capitals)."""
        for p in self.platforms:
            if p.code == code:
                return p.case_prefix or code.upper()
        return code.upper()

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
        """The platform owning a queue (a skill queue belongs to its platform queue's platform)."""
        queue = base_queue(queue)
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
        case_prefix=_prefix(raw, where),
        when_closed=_when_closed(raw, where),
        wrapup_s=_wrapup(raw, where) if raw.get("wrapup_s") is not None else None,
    )


def _wrapup(raw: dict[str, Any], where: str) -> int:
    value = raw.get("wrapup_s", 0)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 3600:
        raise ConfigError(f"{where}: wrapup_s must be an integer 0-3600 seconds, got {value!r}")
    return value


def _when_closed(raw: dict[str, Any], where: str) -> WhenClosed:
    value = raw.get("when_closed", "voicemail")
    if value not in WHEN_CLOSED:
        raise ConfigError(f"{where}: when_closed must be one of {list(WHEN_CLOSED)}, got {value!r}")
    return value  # type: ignore[no-any-return]


def _prefix(raw: dict[str, Any], where: str) -> str | None:
    value = raw.get("case_prefix")
    if value is None:
        return None
    if not isinstance(value, str) or not value.isascii() or not value.isalnum() or not 1 <= len(value) <= 8:
        raise ConfigError(f"{where}: case_prefix must be 1-8 ASCII letters or digits, got {value!r}")
    return value


def _check_unique(platforms: tuple[Platform, ...]) -> None:
    codes = [p.code for p in platforms]
    dup = sorted({c for c in codes if codes.count(c) > 1})
    if dup:
        raise ConfigError(f"duplicate platform code(s) {dup}")
    seen: dict[str, dict[str, str]] = {
        "queue": {},
        "trunk": {},
        "mailbox": {},
        "geo name": {},
        "case_prefix": {},
    }
    for p in platforms:
        values = {
            "queue": p.queues,
            "trunk": p.trunks,
            "mailbox": (p.mailbox,),
            "geo name": p.geo_names,
            "case_prefix": (p.case_prefix,) if p.case_prefix else (),
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
    per_agent = overflow.get("saturated_waiting_per_agent", 2)
    if not isinstance(per_agent, int) or isinstance(per_agent, bool) or not 1 <= per_agent <= 100:
        raise ConfigError(f"overflow.saturated_waiting_per_agent must be an integer 1-100, got {per_agent!r}")
    try:
        calendar = WorkCalendar(holiday_dir)
    except ValueError as exc:
        raise ConfigError(f"holiday calendar: {exc}") from None
    try:
        hotlines = parse_hotlines(data.get("hotlines"))
    except HotlineConfigError as exc:
        raise ConfigError(str(exc)) from None
    try:
        transfer = parse_transfer(data.get("transfer"))
    except TransferError as exc:
        raise ConfigError(str(exc)) from None
    try:
        skills = parse_skills(data.get("skills"))
    except SkillConfigError as exc:
        raise ConfigError(str(exc)) from None
    try:
        queue_callback = parse_callback(data.get("queue_callback"))
    except CallbackConfigError as exc:
        raise ConfigError(str(exc)) from None
    unknown_cb = sorted(set(queue_callback.platforms or ()) - {p.code for p in platforms})
    if unknown_cb:
        raise ConfigError(f"queue_callback.platforms names unknown platform(s) {unknown_cb}")
    if skills.groups:
        unknown = sorted({h.skill for h in hotlines.hotlines if h.skill and not skills.by_code(h.skill)})
        if unknown:
            raise ConfigError(f"hotlines name skill(s) {unknown} not declared under skills.groups")
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
        pool_waiting_per_agent=per_agent,
        hotlines=hotlines,
        transfer=transfer,
        wrapup_s=_wrapup(data, "top level"),
        skills=skills,
        queue_callback=queue_callback,
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


def write_always_open(
    dest: str | Path, source: str | Path | None = None, *, wrapup_s: int | None = None
) -> Path:
    """A copy of a platform configuration with every platform staffed 7×24 (tests and benchmarks
    that must not depend on the hour they run at), and ``wrapup_s`` as its wrap-up when given.
    Returns the written path."""
    data = yaml.safe_load(Path(source or default_config_path()).read_text(encoding="utf-8"))
    if wrapup_s is not None:
        data["wrapup_s"] = wrapup_s
    for platform in data["platforms"]:
        platform["hours"] = {"mode": "7x24"}
    dest = Path(dest)
    dest.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return dest
