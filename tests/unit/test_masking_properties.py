"""Masking: no phone or ID number survives scrubbing (hypothesis-generated texts)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from app.cases.masking import mask_name, mask_phone, normalise_phone, scrub

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)
mobiles = st.builds(
    lambda p, r: p + r,
    st.sampled_from(["13", "14", "15", "16", "17", "18", "19"]),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
)
landlines = st.builds(
    lambda a, r: a + r,
    st.sampled_from(["0871", "0872", "010", "021"]),
    st.text(alphabet="0123456789", min_size=7, max_size=8),
)
id18 = st.builds(
    lambda b, c: b + c,
    st.text(alphabet="0123456789", min_size=17, max_size=17),
    st.sampled_from(list("0123456789X")),
)
id15 = st.text(alphabet="0123456789", min_size=15, max_size=15)
secret = st.one_of(mobiles, landlines, id18, id15)


def written(s: str, style: int) -> str:
    """How people write numbers: plain, +86, in pieces with spaces or hyphens."""
    if style == 1 and len(s) == 11:
        return "+86 " + s
    if style == 2 and len(s) == 11:
        return f"{s[:3]} {s[3:7]} {s[7:]}"
    if style == 3 and len(s) >= 11:
        return f"{s[:4]}-{s[4:]}"
    return s


noise = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20),
    st.text(alphabet="ab@.-+ 0123456789:电话号码Xx\u00a0", max_size=12),  # tricky neighbours: e-mails, pieces
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(noise, secret, st.integers(0, 3)), min_size=1, max_size=5), noise)
def test_no_phone_or_id_number_survives(parts, tail):
    text = "".join(n + written(s, style) for n, s, style in parts) + tail
    out = scrub(text) or ""
    for _, s, _ in parts:
        assert s not in out
    assert not re.search(r"\d{7,}", out), out  # no 7 digits in a row anywhere
    joined = re.sub(r"(?<=\d)[ \-.\u00a0](?=\d)", "", out)
    assert not re.search(r"\d{11,}", joined), out  # nor a phone written in pieces


@given(noise)
def test_text_without_numbers_is_kept(text):
    if not re.search(r"\d|@", text):
        assert scrub(text) == text


def test_examples():
    assert mask_phone("13912342345") == "139****2345"
    assert mask_phone("+86 139 1234 2345") == "139****2345"
    assert mask_name("张三") == "张*" and mask_name("欧阳娜娜") == "欧***"
    out = scrub(
        "张三 电话13912342345，身份证53010219900101123X，邮箱 zhang.san@example.com，工单 KM-20261126-0007",
        names=["张三"],
    )
    assert scrub("身份证 11010519491231002X 已核验") == "身份证 110***********002X 已核验"
    assert scrub("写信到 a@13912342345.cn") == "写信到 a@139****2345.cn"
    assert (
        out == "张* 电话139****2345，身份证530***********123X，邮箱 z***@example.com，工单 KM-20261126-0007"
    )


def test_phone_normalisation_for_lookups():
    for written in (
        "13912342345",
        "+86 139 1234 2345",
        "+8613912342345",
        "0086-139-1234-2345",
        "139-1234-2345",
    ):
        assert normalise_phone(written) == "13912342345"
    assert normalise_phone("0871-65551234") == "087165551234"
    assert normalise_phone("+86 871 6555 1234") == "087165551234"
    assert normalise_phone("12345") == "12345" and normalise_phone(None) is None
