"""Source hotlines: merged numbers (并号) and parallel hotlines (分线), keyed by the dialled number.

A department's old number (12315, 12369, a bureau's fixed line, a water company's service line) is
merged into 12345 or kept in parallel; either way the trunk delivers the dialled number (DID) and
the call is answered by 12345 agents. The configuration says, per DID, which source hotline the
citizen meant, which skill group answers it, which case category is prefilled, and an optional
one-sentence notice played once ("您拨打的…热线已并入12345"). An unknown DID is the unified 12345.
Pure: data in, data out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

HotlineKind = Literal["unified", "merged", "parallel"]
UNIFIED_CODE = "12345"
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
_PROMPT = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_CATEGORY = re.compile(r"^[0-9]{1,16}$")
_DID = re.compile(r"^\+?[0-9]{3,20}$")


class HotlineConfigError(ValueError):
    """A `hotlines` entry is invalid; the message says which and why."""


@dataclass(frozen=True)
class Hotline:
    code: str  # short code shown on calls, cases and the wallboard filter, e.g. "12315"
    name: str  # e.g. 12315市场监管投诉举报热线
    kind: HotlineKind
    dids: tuple[str, ...]  # dialled numbers as the trunk delivers them, normalised (digits only)
    skill: str | None = None  # the skill group that answers it (None: any agent of the platform)
    category: str | None = None  # case category code prefilled on the case
    notice: str | None = None  # prompt id played once before the queue (e.g. notice-merged-12315)


UNIFIED = Hotline(code=UNIFIED_CODE, name="12345政务服务便民热线", kind="unified", dids=(UNIFIED_CODE,))


def normalise_did(raw: str | None) -> str:
    """The dialled number as digits only, without the +86/0086 country prefix ("" when unusable).

    Trunks deliver the DID in different forms (12315, +8687112315, 008687112315, 0871-12315): one
    form is compared. A DID with anything but digits, '+', '-', spaces and parentheses is unusable."""
    s = (raw or "").strip()
    s = re.sub(r"[\s()\-]", "", s)
    if not _DID.match(s):
        return ""
    for prefix in ("+86", "0086"):
        if s.startswith(prefix):
            rest = s[len(prefix) :]
            # a landline (area code without its trunk 0) gets the 0 back; short numbers and mobiles not
            return "0" + rest if len(rest) > 5 and not rest.startswith("1") else rest
    return s.lstrip("+")


@dataclass(frozen=True)
class HotlineTable:
    hotlines: tuple[Hotline, ...]

    @property
    def unified(self) -> Hotline:
        return next(h for h in self.hotlines if h.kind == "unified")

    def by_code(self, code: str) -> Hotline | None:
        return next((h for h in self.hotlines if h.code == code), None)

    def resolve(self, dnid: str | None) -> tuple[Hotline, bool]:
        """The source hotline of a dialled number, and whether the number was known
        (an unknown or garbled DID is the unified 12345)."""
        did = normalise_did(dnid)
        if did:
            for h in self.hotlines:
                if did in h.dids:
                    return h, True
        return self.unified, False

    def notices(self) -> tuple[str, ...]:
        return tuple(h.notice for h in self.hotlines if h.notice)


def _opt(raw: dict[str, Any], key: str, pattern: re.Pattern[str], where: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not pattern.match(value.strip()):
        raise HotlineConfigError(f"{where}: bad {key} {value!r}")
    return value.strip()


def _hotline(raw: Any, index: int) -> Hotline:
    where = f"hotlines[{index}]"
    if not isinstance(raw, dict):
        raise HotlineConfigError(f"{where}: must be a mapping")
    code = raw.get("code")
    code = str(code) if isinstance(code, int) and not isinstance(code, bool) else code
    if not isinstance(code, str) or not _CODE.match(code):
        raise HotlineConfigError(f"{where}: 'code' must be 1-16 letters, digits, '-' or '_' (quote numbers), got {code!r}")
    where = f"hotline {code!r}"
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise HotlineConfigError(f"{where}: 'name' must be a non-empty string")
    kind = raw.get("kind", "unified" if code == UNIFIED_CODE else "merged")
    if kind not in ("unified", "merged", "parallel"):
        raise HotlineConfigError(f"{where}: kind must be unified, merged or parallel, got {kind!r}")
    raw_dids = raw.get("dids")
    if not isinstance(raw_dids, list) or not raw_dids:
        raise HotlineConfigError(f"{where}: 'dids' must be a non-empty list of dialled numbers (quoted)")
    dids = []
    for d in raw_dids:
        if not isinstance(d, str):
            raise HotlineConfigError(
                f"{where}: DID {d!r} must be a quoted string (YAML drops the leading 0 of 087112315)"
            )
        n = normalise_did(d)
        if not n:
            raise HotlineConfigError(f"{where}: DID {d!r} is not a phone number")
        dids.append(n)
    return Hotline(
        code=code,
        name=name.strip(),
        kind=kind,
        dids=tuple(dids),
        skill=_opt(raw, "skill", _CODE, where),
        category=_opt(raw, "category", _CATEGORY, where),
        notice=_opt(raw, "notice", _PROMPT, where),
    )


def parse_hotlines(raw: Any) -> HotlineTable:
    """The `hotlines` list of a platform YAML (absent: the unified 12345 only)."""
    if raw is None:
        return HotlineTable((UNIFIED,))
    if not isinstance(raw, list):
        raise HotlineConfigError("'hotlines' must be a list")
    hotlines = tuple(_hotline(r, i) for i, r in enumerate(raw))
    codes = [h.code for h in hotlines]
    dup = sorted({c for c in codes if codes.count(c) > 1})
    if dup:
        raise HotlineConfigError(f"duplicate hotline code(s) {dup}")
    owner: dict[str, str] = {}
    for h in hotlines:
        for d in h.dids:
            if owner.setdefault(d, h.code) != h.code:
                raise HotlineConfigError(f"DID {d!r} is listed by hotlines {owner[d]!r} and {h.code!r}")
    unified = [h.code for h in hotlines if h.kind == "unified"]
    if len(unified) != 1:
        raise HotlineConfigError(f"exactly one hotline must be the unified 12345 (kind unified), found {unified}")
    return HotlineTable(hotlines)
