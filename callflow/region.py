"""Caller number → prefecture (属地), using libphonenumber's geocoder; no hand-written number table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType, geocoder, is_number_type_geographical
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


@lru_cache(maxsize=20000)
def _number_facts(s: str) -> tuple[str, CallerKind, str | None] | None:
    """(E.164, mobile/landline/international, the geocoder's description) of a number-like string, or
    None when it is not a valid number. Config-free, so cached: callers call again."""
    try:
        num = phonenumbers.parse(s, "CN")
    except phonenumbers.NumberParseException:
        return None
    # the number's type, computed once (is_valid_number and the geocoder each computed it again):
    # valid <=> a known type for the number's own region
    ntype = phonenumbers.number_type(num)
    if ntype == PhoneNumberType.UNKNOWN:
        return None
    e164 = phonenumbers.format_number(num, PhoneNumberFormat.E164)
    if is_number_type_geographical(ntype, num.country_code or 0):
        geo = geocoder.description_for_valid_number(num, "zh") or None
    else:
        geo = geocoder.country_name_for_number(num, "zh") or None
    if phonenumbers.region_code_for_number(num) != "CN":
        return e164, "international", geo
    return e164, "mobile" if ntype == PhoneNumberType.MOBILE else "landline", geo


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
    facts = _number_facts(s)
    if facts is None:
        return RegionResult(None, None, "invalid", None)
    e164, kind, geo = facts
    if kind == "international":
        return RegionResult(None, e164, "international", geo)
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


def _place_names(p: Platform) -> tuple[str, ...]:
    """Names a citizen writes for a prefecture: its geo names, without the province in front
    (云南省昆明市 → 昆明市), and its short name (昆明)."""
    names = set(p.geo_names) | {p.short_name}
    for geo in p.geo_names:
        for cut in ("省", "自治区"):
            if cut in geo:
                names.add(geo.split(cut, 1)[1])
    return tuple(sorted((n for n in names if len(n) >= 2), key=len, reverse=True))


def resolve_place(place: str | None, config: HotlineConfig) -> str | None:
    """The prefecture a free-text place names (地址 '昆明市五华区…' → kunming); None when it names none
    or more than one. Never raises."""
    if not place or not isinstance(place, str):
        return None
    text = place[:_MAX_INPUT]
    found = {p.code for p in config.prefectures if any(n in text for n in _place_names(p))}
    return found.pop() if len(found) == 1 else None
