"""Transcript text normalisation: Traditional -> Simplified, spoken numbers -> digits, tidy spacing.

Number normalisation (inverse text normalisation) is deliberately conservative: it only rewrites
numbers in contexts that are unambiguous for a call-taker reading a voicemail -- digit-by-digit
strings (phone numbers, 幺二三四五), money (元 / 块钱), clock times (三点半, 八点十五分) and dates
(十一月二十六号, 二零二四年). Words such as 一般, 一些, 一下, 十分, 万一, 一点点 are left alone.
"""

from __future__ import annotations

import re
from functools import lru_cache

_DIGIT = {"零": 0, "〇": 0, "幺": 1, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
          "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
_UNIT = {"十": 10, "百": 100, "千": 1000}
_BIG = {"万": 10_000, "亿": 100_000_000}

_HAN = "\u4e00-\u9fff"
_CJK = _HAN + "\u3000-\u303f\uff00-\uffef"


@lru_cache(maxsize=1)
def _t2s():  # type: ignore[no-untyped-def]
    from opencc import OpenCC

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional Chinese characters -> Simplified (OpenCC t2s); other text unchanged."""
    return str(_t2s().convert(text)) if text else text


def cn_to_int(s: str) -> int:
    """Chinese numeral (or digit-by-digit reading, ASCII digits allowed) -> int.

    三百五十 -> 350, 三百五 -> 350, 两万 -> 20000, 一万零五百 -> 10500, 二零二四 -> 2024, 十五 -> 15.
    """
    if not s:
        raise ValueError("empty numeral")
    if all(c in _DIGIT or c.isdigit() for c in s):
        return int("".join(str(_DIGIT.get(c, c)) for c in s))
    total = section = 0
    num: int | None = None
    last_unit = 0
    prev = ""
    for c in s:
        if c in _DIGIT or c.isdigit():
            num = _DIGIT[c] if c in _DIGIT else int(c)
            if c in "零〇":
                last_unit = 0
        elif c in _UNIT:
            section += (1 if num is None else num) * _UNIT[c]
            num, last_unit = None, _UNIT[c]
        elif c in _BIG:
            section += num or 0
            total += (section or 1) * _BIG[c]
            section, num, last_unit = 0, None, _BIG[c]
        else:
            raise ValueError(f"not a numeral: {s!r}")
        prev = c
    if num is not None:
        # Colloquial abbreviation: 三百五 = 350, 一千二 = 1200, 三万五 = 35000 (but 二十五 = 25).
        if last_unit >= 100 and prev not in "零〇" and s[-2:-1] in ("百", "千", "万", "亿"):
            num *= last_unit // 10
        section += num
    return total + section


# --- patterns ----------------------------------------------------------------------------------
_DIGITS = "0-9零〇幺一二三四五六七八九"
# digit-by-digit strings: >= 7 long (phone numbers), or 3-6 long containing 幺 (110, 12345, ...)
_PHONE_RE = re.compile(rf"(?<![十百千万亿点{_DIGITS}])[{_DIGITS}]{{3,}}(?![十百千万亿点{_DIGITS}])")

_CARD = "(?:[0-9]+|[零〇一二三四五六七八九两十][零〇一二三四五六七八九两十百千万亿]*)"
_MONEY_RE = re.compile(
    rf"(?P<n>{_CARD})(?:点(?P<d>[零〇一二三四五六七八九0-9]+))?(?P<big>[万亿]?)(?P<u>元(?![化论素次旦宵月])|块钱)"
)

_TOD = "上午|下午|晚上|早上|早晨|中午|凌晨|傍晚|夜里|今晚|明早"
_HOUR = "(?:[0-9]{1,2}|[零一二三四五六七八九十两]{1,3})"
_MIN = "(?:[0-9]{1,2}|[零一二三四五六七八九十]{1,3})"
_MIN_TENS = "(?:[一二三四五]?十[一二三四五六七八九]?)"
_TIME_RE = re.compile(
    rf"(?P<tod>{_TOD})?(?<![有差快慢多少好大小高低重轻早晚点])(?P<h>{_HOUR})点"
    rf"(?:(?P<half>半)|(?P<q1>一刻)|(?P<q3>三刻)|(?P<m>{_MIN})分(?!之)"
    rf"|(?P<m2>{_MIN_TENS})(?![点万千百0-9零〇一二三四五六七八九十分秒])|(?P<suf>整|钟))"
)
_TOD_HOUR_RE = re.compile(rf"(?P<tod>{_TOD})(?P<h>{_HOUR})点(?![点半钟整儿多一二三四五六七八九十零分])")

_MONTH = "(?:十[一二]?|[一二三四五六七八九]|1[0-2]|0?[1-9])"
_DAY = "(?:[一二三]?十[一二三四五六七八九]?|[一二三四五六七八九]|[0-3]?[0-9])"
_DATE_RE = re.compile(rf"(?P<mo>{_MONTH})月(?P<d>{_DAY})(?P<u>日|号)")
_YEAR_RE = re.compile(r"(?<![0-9零〇一二三四五六七八九十百千万])(?P<y>[零〇一二三四五六七八九]{4})年")


def _phone(m: re.Match[str]) -> str:
    s = m.group(0)
    if s.isdigit() or (len(s) < 7 and "幺" not in s):
        return s
    return "".join(str(_DIGIT.get(c, c)) for c in s)


def _money(m: re.Match[str]) -> str:
    n = m.group("n")
    try:
        if len(n) > 1 and n[-1] in _BIG and not any(c in _BIG for c in n[:-1]):
            value = f"{cn_to_int(n[:-1])}{n[-1]}"  # 两万元 -> 2万元 reads better than 20000元
        else:
            value = str(cn_to_int(n))
    except ValueError:
        return m.group(0)
    if m.group("d"):
        value += "." + "".join(str(_DIGIT.get(c, c)) for c in m.group("d"))
    return f"{value}{m.group('big')}{m.group('u')}"


def _time(m: re.Match[str]) -> str:
    try:
        hour = cn_to_int(m.group("h"))
        if m.group("half"):
            minute = 30
        elif m.group("q1"):
            minute = 15
        elif m.group("q3"):
            minute = 45
        elif m.group("m") or m.group("m2"):
            minute = cn_to_int(m.group("m") or m.group("m2"))
        else:
            minute = -1
    except ValueError:
        return m.group(0)
    if not 0 <= hour <= 24 or minute > 59:
        return m.group(0)
    tod = m.group("tod") or ""
    if minute < 0:
        return f"{tod}{hour}点{m.group('suf')}"
    return f"{tod}{hour}:{minute:02d}"


def _tod_hour(m: re.Match[str]) -> str:
    try:
        hour = cn_to_int(m.group("h"))
    except ValueError:
        return m.group(0)
    return f"{m.group('tod')}{hour}点" if 0 <= hour <= 24 else m.group(0)


def _date(m: re.Match[str]) -> str:
    month, day = cn_to_int(m.group("mo")), cn_to_int(m.group("d"))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return m.group(0)
    return f"{month}月{day}{m.group('u')}"


def normalise_numbers(text: str) -> str:
    """Spoken Chinese numbers -> digits in phone numbers, money, clock times and dates."""
    text = _PHONE_RE.sub(_phone, text)
    text = _YEAR_RE.sub(lambda m: f"{cn_to_int(m.group('y'))}年", text)
    text = _DATE_RE.sub(_date, text)
    text = _TIME_RE.sub(_time, text)
    text = _TOD_HOUR_RE.sub(_tod_hour, text)
    return _MONEY_RE.sub(_money, text)


_FULLWIDTH = {",": "，", "?": "？", "!": "！", ";": "；", ":": "：", ".": "。"}


def tidy(text: str) -> str:
    """Collapse whitespace, drop spaces inside Chinese text, use full-width punctuation next to Han."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(rf"(?<=[{_CJK}])\s+(?=[{_CJK}0-9])|(?<=[{_CJK}0-9])\s+(?=[{_CJK}])", "", text)
    text = re.sub(
        rf"(?<=[{_HAN}])[,?!;:.](?![0-9])|[,?!;](?=[{_HAN}])", lambda m: _FULLWIDTH[m.group(0)], text
    )
    return text


def clean_transcript(text: str) -> str:
    """What every engine's output goes through: Simplified + number normalisation + tidy spacing."""
    return tidy(normalise_numbers(tidy(to_simplified(text))))
