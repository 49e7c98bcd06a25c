"""Working days on the Chinese calendar.

Sources, in order of precedence for a given date:

1. administrator files ``<holiday_dir>/<year>.yaml`` (see ``callflow/holidays/README.md``);
2. the ``chinese_calendar`` library (State Council notices it knows, 2004-2026 in 1.11);
3. nothing: the year is a *gap*; ``is_workday`` raises :class:`CalendarGap`, the ``*_or_guess``
   variants fall back to Monday-Friday and return a loud warning.

An administrator file refines the library date by date: a date it lists wins, a date it does not
list keeps the library's answer (or the weekday rule for a year the library does not know).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import chinese_calendar
import yaml
from chinese_calendar import constants as _cc

PACKAGED_HOLIDAY_DIR = Path(__file__).with_name("holidays")
_LOAD_HINT = "load it with `hotline calendar load FILE`"
_ALLOWED_KEYS = {"year", "holidays", "workdays", "source", "note", "notes"}
_MAX_SCAN_DAYS = 3 * 366

TimeLike = time | str
Window = tuple[TimeLike, TimeLike]


_KNOWN_MAX = 20_000  # remembered answers, about 55 years of days


class CalendarGap(LookupError):
    """No holiday data for ``year``: working days cannot be known for sure."""

    def __init__(self, year: int) -> None:
        super().__init__(f"no holiday calendar for {year}: {_LOAD_HINT}")
        self.year = year


def _library_years() -> frozenset[int]:
    """Years chinese_calendar has State Council data for (read from its tables)."""
    years = {d.year for d in _cc.holidays} | {d.year for d in _cc.workdays}
    return frozenset(years)


def _as_date(value: Any, where: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"{where}: {value!r} is not a real date ({exc})") from None
    raise ValueError(f"{where}: expected a date like '2027-01-01', got {value!r}")


def _expand(items: Any, key: str, year: int) -> set[date]:
    if items is None:
        return set()
    if not isinstance(items, list):
        raise ValueError(f"'{key}' must be a list of dates or [start, end] ranges, got {items!r}")
    out: set[date] = set()
    for i, item in enumerate(items):
        where = f"{key}[{i}]"
        if isinstance(item, list | tuple):
            if len(item) != 2:
                raise ValueError(f"{where}: a range must be [start, end], got {item!r}")
            start, end = _as_date(item[0], where), _as_date(item[1], where)
            if end < start:
                raise ValueError(f"{where}: range ends ({end}) before it starts ({start})")
            days = [start + timedelta(days=k) for k in range((end - start).days + 1)]
        else:
            days = [_as_date(item, where)]
        for d in days:
            if d.year != year:
                raise ValueError(f"{where}: {d} is not in year {year}")
            out.add(d)
    return out


def parse_admin_yaml(text: str, expected_year: int | None = None) -> tuple[int, set[date], set[date]]:
    """Validate an administrator holiday file; return (year, holidays, workdays)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"holiday file is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("holiday file must be a mapping with keys 'year', 'holidays', 'workdays'")
    unknown = set(map(str, data)) - _ALLOWED_KEYS
    if unknown:
        raise ValueError(f"holiday file has unknown keys {sorted(unknown)}; allowed: {sorted(_ALLOWED_KEYS)}")
    year = data.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
        raise ValueError(f"holiday file needs 'year' as an integer 2000-2100, got {year!r}")
    if expected_year is not None and year != expected_year:
        raise ValueError(f"holiday file is named for {expected_year} but says year: {year}")
    if "holidays" not in data:
        raise ValueError(f"holiday file for {year} has no 'holidays' list")
    holidays = _expand(data.get("holidays"), "holidays", year)
    workdays = _expand(data.get("workdays"), "workdays", year)
    both = sorted(holidays & workdays)
    if both:
        raise ValueError(f"holiday file for {year}: dates listed both as holiday and workday: {both}")
    return year, holidays, workdays


def _parse_time(value: TimeLike) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
        hh, mm = value.strip().split(":")
        if int(hh) < 24 and int(mm) < 60:
            return time(int(hh), int(mm))
    raise ValueError(f"bad time {value!r}: expected 'HH:MM'")


def normalise_windows(windows: Iterable[Sequence[TimeLike]]) -> tuple[tuple[time, time], ...]:
    """Parse, check and sort daily windows; raise ValueError if empty, reversed or overlapping."""
    out: list[tuple[time, time]] = []
    for w in windows:
        if len(w) != 2:
            raise ValueError(f"a window must be [start, end], got {w!r}")
        start, end = _parse_time(w[0]), _parse_time(w[1])
        if end <= start:
            raise ValueError(f"window {w!r}: end must be after start")
        out.append((start, end))
    if not out:
        raise ValueError("at least one daily window is needed")
    out.sort()
    for (_, e1), (s2, _) in zip(out, out[1:], strict=False):
        if s2 < e1:
            raise ValueError(f"windows overlap around {s2:%H:%M}")
    return tuple(out)


class WorkCalendar:
    """Chinese working-day calendar: chinese_calendar + administrator files.

    Date arithmetic uses the wall clock of the datetimes given: pass platform-local times
    (``dt.astimezone(config.zone)``), not UTC, or a Saturday 01:00 in Beijing counts as Friday.
    """

    def __init__(self, holiday_dir: str | Path | None = None) -> None:
        self.holiday_dir = Path(holiday_dir) if holiday_dir is not None else PACKAGED_HOLIDAY_DIR
        self._lib_years = _library_years()
        self._admin: dict[int, tuple[frozenset[date], frozenset[date]]] = {}
        # answers already worked out (a case list asks about the same few days for every row); emptied
        # whenever an administrator file is loaded
        self._known: dict[date, bool] = {}
        if self.holiday_dir.is_dir():
            for path in sorted(self.holiday_dir.glob("*.yaml")):
                self.load_file(path)

    # ----------------------------------------------------------------- data
    def load_file(self, path: str | Path) -> int:
        """Validate and load one administrator file; return its year."""
        path = Path(path)
        stem_year = int(path.stem) if re.fullmatch(r"\d{4}", path.stem) else None
        try:
            text = path.read_text(encoding="utf-8")
            year, holidays, workdays = parse_admin_yaml(text, stem_year)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"{path}: {exc}") from None
        self._admin[year] = (frozenset(holidays), frozenset(workdays))
        self._known.clear()
        return year

    def save_admin_file(self, yaml_text: str, holiday_dir: str | Path | None = None) -> Path:
        """Validate ``yaml_text``, write it as ``<holiday_dir>/<year>.yaml`` and load it."""
        year, holidays, workdays = parse_admin_yaml(yaml_text)
        target_dir = Path(holiday_dir) if holiday_dir is not None else self.holiday_dir
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / f"{year}.yaml"
        fd, tmp = tempfile.mkstemp(dir=target_dir, prefix=f".{year}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(yaml_text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._admin[year] = (frozenset(holidays), frozenset(workdays))
        self._known.clear()
        return target

    def covered_years(self) -> set[int]:
        return set(self._lib_years) | set(self._admin)

    def has_year(self, year: int) -> bool:
        return year in self._lib_years or year in self._admin

    def coverage_warnings(self, today: date) -> list[str]:
        """Loud warnings for the current and the next year when their calendar is missing."""
        if isinstance(today, datetime):
            today = today.date()
        out = []
        for year in (today.year, today.year + 1):
            if not self.has_year(year):
                when = "this year" if year == today.year else "next year"
                out.append(
                    f"no holiday calendar for {year} ({when}): {_LOAD_HINT}; "
                    "until then working days are guessed as Monday-Friday"
                )
        return out

    # ------------------------------------------------------------ questions
    def is_workday(self, d: date) -> bool:
        """True on a Chinese working day; raises CalendarGap for a year without data."""
        if isinstance(d, datetime):
            d = d.date()
        known = self._known.get(d)
        if known is None:
            known = self._lookup(d)
            if len(self._known) >= _KNOWN_MAX:  # dates from requests (?now=) must not grow it forever
                self._known.clear()
            self._known[d] = known
        return known

    def _lookup(self, d: date) -> bool:
        admin = self._admin.get(d.year)
        if admin is not None:
            holidays, workdays = admin
            if d in holidays:
                return False
            if d in workdays:
                return True
        if d.year in self._lib_years:
            return bool(chinese_calendar.is_workday(d))
        if admin is not None:
            return d.weekday() < 5
        raise CalendarGap(d.year)

    def is_workday_or_guess(self, d: date) -> tuple[bool, str | None]:
        """(working day?, warning) — weekday rule plus a warning when the year is unknown."""
        try:
            return self.is_workday(d), None
        except CalendarGap as gap:
            if isinstance(d, datetime):
                d = d.date()
            return d.weekday() < 5, f"{gap}; guessed {d} by the Monday-Friday rule"

    def _workday(self, d: date, strict: bool) -> bool:
        return self.is_workday(d) if strict else self.is_workday_or_guess(d)[0]

    def add_working_days(self, start: datetime, n: int, *, strict: bool = True) -> datetime:
        """The same clock time ``n`` working days after ``start`` (before it if n < 0).

        Day 1 is the first working day after start's date, so a case received on Friday with
        n=1 is due on Monday (or later if Monday is a holiday).
        """
        step = 1 if n >= 0 else -1
        d, left = start.date(), abs(n)
        while left:
            d += timedelta(days=step)
            if self._workday(d, strict):
                left -= 1
        return start.replace(year=d.year, month=d.month, day=d.day)

    def working_days_between(self, a: date | datetime, b: date | datetime, *, strict: bool = True) -> int:
        """Working days in (a, b] by date — inverse of ``add_working_days``; negative if b < a."""
        da = a.date() if isinstance(a, datetime) else a
        db = b.date() if isinstance(b, datetime) else b
        sign = 1
        if db < da:
            da, db, sign = db, da, -1
        count, d = 0, da
        while d < db:
            d += timedelta(days=1)
            if self._workday(d, strict):
                count += 1
        return sign * count

    def add_working_hours(
        self, start: datetime, hours: float, windows: Iterable[Sequence[TimeLike]], *, strict: bool = True
    ) -> datetime:
        """``start`` plus ``hours`` counted only inside ``windows`` on working days."""
        if hours < 0:
            raise ValueError("hours must be >= 0")
        wins = normalise_windows(windows)
        remaining = timedelta(hours=hours)
        if not remaining:
            return start
        tz = start.tzinfo
        cursor = start
        for _ in range(_MAX_SCAN_DAYS):
            d = cursor.date()
            if self._workday(d, strict):
                for ws, we in wins:
                    w_start = datetime.combine(d, ws, tzinfo=tz)
                    w_end = datetime.combine(d, we, tzinfo=tz)
                    if cursor >= w_end:
                        continue
                    begin = max(cursor, w_start)
                    available = w_end - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
                    cursor = w_end
            cursor = datetime.combine(d + timedelta(days=1), time(0), tzinfo=tz)
        raise ValueError(f"no working time found within {_MAX_SCAN_DAYS} days of {start}")
