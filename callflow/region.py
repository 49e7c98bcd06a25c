"""Caller number → prefecture (属地), using libphonenumber's geocoder; no hand-written number table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType, geocoder
from phonenumbers.geodata import GEOCODE_DATA

from .config import HotlineConfig, Platform

CallerKind = Literal["mobile", "landline", "local", "international", "anonymous", "invalid", "other_province"]

ANONYMOUS_IDS = frozenset(
    {
        "",
        "anonymous",
        "unknown",
        "restricted",
        "withheld",
        "private",
        "unavailable",
        "blocked",
        "none",
        "null",
    }
)
_MAX_INPUT = 200
_SCHEME = re.compile(r"^(?:sips?|tel):", re.IGNORECASE)
_ALLOWED = re.compile(r"^\+?[0-9 ()./\-]+$")
_LOCAL = re.compile(r"^[2-9][0-9]{6,7}$")


@dataclass(frozen=True)
class RegionResult:
    prefecture: str | None
    e164: str | None
    kind: CallerKind
    geo: str | None


def _clean(caller_id: str) -> str | None:
    """Strip display names, SIP/tel URI syntax and parameters; None when it is not number-like."""
    s = caller_id.strip()
    m = re.search(r"<([^<>]+)>", s)
    if m:
        s = m.group(1).strip()
    s = s.strip('"').strip()
    if _SCHEME.match(s):
        s = _SCHEME.sub("", s, count=1)
        s = s.split(";", 1)[0].split("@", 1)[0].strip()
    return s


def _match(geo: str, platforms: tuple[Platform, ...]) -> Platform | None:
    for p in platforms:
        if geo in p.geo_names:
            return p
    for p in platforms:
        if any(geo.startswith(name) for name in p.geo_names):
            return p
    return None


@lru_cache(maxsize=64)
def _area_codes(geo_names: tuple[str, ...]) -> tuple[str, ...]:
    """Landline area codes whose geocoder description is one of ``geo_names`` (from the library's data)."""
    codes = []
    for prefix, names in GEOCODE_DATA.items():
        if len(prefix) in (4, 5) and prefix.startswith("86") and prefix[2] not in "01":
            if names.get("zh") in geo_names:
                codes.append(prefix[2:])
    return tuple(sorted(codes))


def _local_e164(digits: str, platform: Platform) -> str | None:
    for area in _area_codes(platform.geo_names):
        try:
            num = phonenumbers.parse(f"+86{area}{digits}")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(num):
            return phonenumbers.format_number(num, PhoneNumberFormat.E164)
    return None


def resolve_region(caller_id: str | None, trunk: str | None, config: HotlineConfig) -> RegionResult:
    """Where the caller is. Never raises on any string input; unknown → prefecture None."""
    try:
        return _resolve(caller_id, trunk, config)
    except Exception:  # noqa: BLE001 — the call must be routed whatever the input
        return RegionResult(None, None, "invalid", None)


def _resolve(caller_id: str | None, trunk: str | None, config: HotlineConfig) -> RegionResult:
    if caller_id is None or not isinstance(caller_id, str):
        return RegionResult(None, None, "anonymous", None)
    if len(caller_id) > _MAX_INPUT:
        return RegionResult(None, None, "invalid", None)
    s = _clean(caller_id)
    if s is None or s.strip().lower() in ANONYMOUS_IDS:
        return RegionResult(None, None, "anonymous", None)
    if not _ALLOWED.match(s):
        return RegionResult(None, None, "invalid", None)
    digits = re.sub(r"[^0-9]", "", s)
    if not s.startswith("+") and _LOCAL.match(digits):
        # Landline dialed without area code: belongs to the trunk's prefecture.
        platform = config.platform_for_trunk(trunk)
        if platform is None or platform.kind != "prefecture":
            return RegionResult(None, None, "local", None)
        return RegionResult(platform.code, _local_e164(digits, platform), "local", None)
    try:
        num = phonenumbers.parse(s, "CN")
    except phonenumbers.NumberParseException:
        return RegionResult(None, None, "invalid", None)
    if not phonenumbers.is_valid_number(num):
        return RegionResult(None, None, "invalid", None)
    e164 = phonenumbers.format_number(num, PhoneNumberFormat.E164)
    geo = geocoder.description_for_number(num, "zh") or None
    if phonenumbers.region_code_for_number(num) != "CN":
        return RegionResult(None, e164, "international", geo)
    kind: CallerKind = "mobile" if phonenumbers.number_type(num) == PhoneNumberType.MOBILE else "landline"
    if geo is None:
        return RegionResult(None, e164, kind, None)
    platform = _match(geo, config.prefectures)
    if platform is not None:
        return RegionResult(platform.code, e164, kind, geo)
    province = config.province_platform
    if _match(geo, (province,)) is not None or geo in ("中国", "China"):
        # In the province (or only "China" known, e.g. 170 virtual mobiles): no prefecture.
        return RegionResult(None, e164, kind, geo)
    return RegionResult(None, e164, "other_province", geo)
