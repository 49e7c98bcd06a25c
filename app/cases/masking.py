"""Personal data masking for everything public. Pure.

- phone numbers → ``139****2345``; ID numbers (18-digit 身份证 with check digit X, 15-digit) →
  ``530***********123X``-style; e-mails → ``a***@example.com``; names → ``张**``.
- free text: every run of 7 or more digits (also split by spaces/hyphens/dots when it holds 11 or
  more digits, as phones are written ``139 1234 2345``) is masked, as are ID numbers and e-mails;
  known names (the citizen's) are masked wherever they occur. Case numbers (``KM-20261126-0007``)
  are kept: the citizen reads them out.
"""

from __future__ import annotations

import re

_CASE_NO = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2,8}-\d{8}-\d{4,}(?![0-9])")
_ID18 = re.compile(
    r"(?<!\d)(?<!\d[ \-.\u00a0])\d{17}[\dXx](?![\dA-Za-z]|[ \-.\u00a0]\d)"
)  # not part of a longer run
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# 11+ digits with single separators between groups (phones written in pieces, +86 prefixes)
_SPLIT_DIGITS = re.compile(r"(?<!\d)\+?\d(?:[ \-.\u00a0]?\d){10,}(?!\d)")
_RUN = re.compile(r"\d{7,}")
# one pass, leftmost match wins; at the same position the earlier alternative (case number first)
_ANY = re.compile(
    "|".join(
        f"(?P<{name}>{rx.pattern})"
        for name, rx in (
            ("case", _CASE_NO),
            ("id", _ID18),
            ("split", _SPLIT_DIGITS),
            ("run", _RUN),
        )
    )
)


def mask_digits(digits: str) -> str:
    """Mask a digit string keeping a little of each end: never 7 digits in a row survive."""
    n = len(digits)
    if n >= 11:
        keep_head, keep_tail = 3, 4
    elif n >= 7:
        keep_head, keep_tail = 2, 2
    else:
        return "*" * n
    return digits[:keep_head] + "*" * (n - keep_head - keep_tail) + digits[n - keep_tail :]


def mask_phone(phone: str | None) -> str | None:
    if phone is None:
        return None
    digits = "".join(c for c in phone if c.isdigit())
    if not digits:
        return "****" if phone.strip() else phone
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return mask_digits(digits)


def mask_id_number(value: str) -> str:
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    return (local[:1] or "*") + "***@" + _RUN.sub(lambda m: mask_digits(m.group(0)), domain)


def mask_name(name: str | None) -> str | None:
    """张三 → 张*, 欧阳娜娜 → 欧***; empty stays empty."""
    if not name:
        return name
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1)


def scrub(text: str | None, names: list[str | None] | None = None) -> str | None:
    """Free text with phones, ID numbers, e-mails and the given names masked."""
    if not text:
        return text
    out = _ANY.sub(_mask_match, text)  # digits first: a number may run into an e-mail's domain
    out = _EMAIL.sub(lambda m: mask_email(m.group(0)), out)
    for _ in range(3):  # masking can bring digits together (e-mail parts): repeat until nothing is left
        again = _ANY.sub(_mask_match, out)
        if again == out:
            break
        out = again
    for name in names or []:
        if name and len(name.strip()) >= 2:
            out = out.replace(name.strip(), mask_name(name) or "")
    return out


def _mask_match(m: re.Match[str]) -> str:
    kind, value = m.lastgroup, m.group(0)
    if kind == "case":
        return value  # case numbers are read out by citizens: kept
    if kind == "id":
        return mask_id_number(value)
    return mask_digits("".join(c for c in value if c.isdigit()))


def normalise_phone(phone: str | None) -> str | None:
    """One stored form per number, so a caller's cases are found however the number was written:
    digits only, national format (+86 139… → 139…, +86 871 6555 1234 → 087165551234)."""
    if phone is None:
        return None
    digits = "".join(c for c in phone if c.isascii() and c.isdigit())
    if not digits:
        return phone.strip() or None
    if digits.startswith("0086"):
        digits = digits[2:]
    if digits.startswith("86") and len(digits) in (12, 13):
        rest = digits[2:]
        digits = rest if rest.startswith("1") and len(rest) == 11 else "0" + rest
    return digits
