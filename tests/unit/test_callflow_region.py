"""Caller number → prefecture, via libphonenumber's zh geocoder (numbers verified with phonenumbers 9.0)."""

from __future__ import annotations

import phonenumbers
import pytest
from phonenumbers.geodata import GEOCODE_DATA

from callflow import load_config, resolve_region


@pytest.fixture(scope="module")
def config():
    return load_config()


@pytest.mark.parametrize(
    ("caller", "prefecture", "kind"),
    [
        # mobiles, every prefix style
        ("13987112345", "kunming", "mobile"),
        ("+8613987112345", "kunming", "mobile"),
        ("008613987112345", "kunming", "mobile"),
        ("8613987112345", "kunming", "mobile"),
        ("013987112345", "kunming", "mobile"),  # trunk adds 0 to non-local mobiles
        ("139 8711 2345", "kunming", "mobile"),
        ("15987112345", "kunming", "mobile"),
        ("13987212345", "dali", "mobile"),
        ("13988112345", "xishuangbanna", "mobile"),
        ("13908812345", "xishuangbanna", "mobile"),
        # landlines with area code
        ("087161234567", "kunming", "landline"),
        ("0871-6123 4567", "kunming", "landline"),
        ("+86 871 6123 4567", "kunming", "landline"),
        ("0872-2123456", "dali", "landline"),
        ("08722123456", "dali", "landline"),
        ("0691-2123456", "xishuangbanna", "landline"),  # geocoder says 云南西双版纳
        ("0692-2123456", "dehong", "landline"),  # geocoder says 云南省芒市
        ("0887-8223456", "diqing", "landline"),  # geocoder says 云南省香格里拉市
        ("0873-3123456", "honghe", "landline"),  # geocoder says 云南红河
        # SIP / display-name wrapping that Asterisk may pass
        ('"Zhang" <sip:+8613987212345@10.0.0.1;user=phone>', "dali", "mobile"),
        ("tel:+8613987112345", "kunming", "mobile"),
    ],
)
def test_yunnan_numbers_resolve_to_their_prefecture(config, caller, prefecture, kind):
    r = resolve_region(caller, None, config)
    assert (r.prefecture, r.kind) == (prefecture, kind), r
    assert r.e164 is not None and r.e164.startswith("+86")
    assert r.geo and r.geo.startswith("云南")


@pytest.mark.parametrize(
    ("caller", "kind"),
    [
        ("13810012345", "other_province"),  # 北京市 mobile
        ("02161234567", "other_province"),  # 上海市 landline
        ("+86 21 6123 4567", "other_province"),
        ("+12125551234", "international"),
        ("+852 2345 6789", "international"),
        ("+85291234567", "international"),
        ("", "anonymous"),
        (None, "anonymous"),
        ("anonymous", "anonymous"),
        ("Anonymous", "anonymous"),
        ("unknown", "anonymous"),
        ("Restricted", "anonymous"),
        ("withheld", "anonymous"),
        ("private", "anonymous"),
        ("<sip:anonymous@anonymous.invalid>", "anonymous"),
        ("abc", "invalid"),
        ("123", "invalid"),
        ("+86 139 8711", "invalid"),
        ("1398711234567890", "invalid"),
        ("1-800-FLOWERS", "invalid"),
        ("sip:abc@def", "invalid"),
        ("sip:1398711;;@@<>", "invalid"),
        ("+", "invalid"),
        ("9" * 500, "invalid"),
    ],
)
def test_non_yunnan_callers_have_no_prefecture(config, caller, kind):
    r = resolve_region(caller, None, config)
    assert r.prefecture is None
    assert r.kind == kind, r


def test_local_number_without_area_code_takes_trunk_prefecture(config):
    r = resolve_region("2123456", "trunk-dali", config)
    assert (r.prefecture, r.kind) == ("dali", "local")
    assert r.e164 == "+868722123456"
    assert resolve_region("61234567", "trunk-kunming", config).e164 == "+8687161234567"
    assert resolve_region("61234567", "trunk-dali", config).prefecture == "dali"


def test_local_number_on_unknown_or_provincial_trunk_is_unplaced(config):
    assert resolve_region("2123456", None, config).prefecture is None
    assert resolve_region("2123456", "trunk-nowhere", config).prefecture is None
    r = resolve_region("61234567", "trunk-province", config)
    assert (r.prefecture, r.kind) == (None, "local")


def test_cn_number_without_place_stays_in_cn_but_unplaced(config):
    r = resolve_region("+8617012345678", None, config)  # virtual operator: geocoder says only 中国
    assert r.prefecture is None and r.kind == "mobile"


def test_every_yunnan_geocoder_description_maps_to_a_prefecture(config):
    """The shipped geo_names cover every zh description the geocoder has for Yunnan."""
    descriptions = {
        d["zh"]
        for prefix, d in GEOCODE_DATA.items()
        if prefix.startswith("86") and d.get("zh", "").startswith("云南")
    }
    assert len(descriptions) >= 16
    known = {g for p in config.prefectures for g in p.geo_names}
    assert descriptions <= known, descriptions - known


def test_each_prefecture_has_a_landline_area_code_that_resolves(config):
    """Every prefecture is reachable through the geocoder's own landline area code data."""
    for platform in config.prefectures:
        codes = [
            prefix[2:]
            for prefix, d in GEOCODE_DATA.items()
            if len(prefix) == 5 and prefix.startswith("86") and d.get("zh") in platform.geo_names
        ]
        assert codes, platform.code
        num = phonenumbers.parse(f"+86{codes[0]}0000000")  # only the prefix matters for the geocoder
        geo = phonenumbers.geocoder.description_for_valid_number(num, "zh")
        assert geo in platform.geo_names
