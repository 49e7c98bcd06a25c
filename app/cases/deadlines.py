"""Per-stage deadlines and red/yellow supervision status, on the Chinese working calendar. Pure.

Every function takes aware datetimes and returns aware UTC datetimes; calendar arithmetic happens on
the platform's wall clock (``zone``). Years without calendar data never crash: the calendar's
non-strict fallback (Monday-Friday) is used and the warning is returned for the caller to surface.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.cases.rules import CaseRules
from callflow.calendar import WorkCalendar, _parse_time


@dataclass
class Clock:
    """The calendar, the zone and the rules; collects fallback warnings as it computes."""

    calendar: WorkCalendar
    zone: ZoneInfo
    rules: CaseRules
    warnings: list[str] = field(default_factory=list)

    def _local(self, at: datetime) -> datetime:
        if at.tzinfo is None:
            raise ValueError("naive datetime")
        return at.astimezone(self.zone)

    def _note_gap(self, *days: datetime) -> None:
        for d in days:
            ok, warning = self.calendar.is_workday_or_guess(d.date())
            if warning and warning not in self.warnings:
                self.warnings.append(warning)

    def _workday(self, local: datetime) -> bool:
        ok, warning = self.calendar.is_workday_or_guess(local.date())
        if warning and warning not in self.warnings:
            self.warnings.append(warning)
        return ok

    def _next_workday(self, local: datetime) -> datetime:
        nxt = self.calendar.add_working_days(local, 1, strict=False)
        self._note_gap(nxt)
        return nxt

    # ------------------------------------------------------------------ stages
    def dispatch_due(self, taken_at: datetime) -> datetime:
        """Same day if taken on a working day before the cutoff, else by 10:00 the next working day."""
        local = self._local(taken_at)
        cutoff = _parse_time(self.rules.dispatch_cutoff)
        if self._workday(local) and local.time() < cutoff:
            due = _at(local, _parse_time(self.rules.dispatch_same_day_by))
        else:
            due = _at(self._next_workday(local), _parse_time(self.rules.dispatch_next_day_by))
        return due.astimezone(UTC)

    def sign_due(self, dispatched_at: datetime) -> datetime:
        local = self._local(dispatched_at)
        due = self.calendar.add_working_hours(
            local, self.rules.sign_working_hours, self.rules.work_windows, strict=False
        )
        self._note_gap(local, due)
        return due.astimezone(UTC)

    def return_due(self, signed_at: datetime) -> datetime:
        return (signed_at + timedelta(hours=self.rules.return_hours)).astimezone(UTC)

    def handle_due(self, dispatched_at: datetime, case_type: str) -> datetime:
        return self.add_days(dispatched_at, self.rules.handle_working_days[case_type])

    def extended(self, handle_due: datetime) -> datetime:
        return self.add_days(handle_due, self.rules.extension_working_days)

    def add_days(self, at: datetime, days: int) -> datetime:
        local = self._local(at)
        due = self.calendar.add_working_days(local, days, strict=False)
        self._note_gap(local, due)
        return due.astimezone(UTC)

    # ------------------------------------------------------------- supervision
    def near_threshold(self, now: datetime) -> datetime:
        """Cases due at or before this instant (and not yet late) are near-due (yellow)."""
        local = self._local(now)
        t = self.calendar.add_working_hours(
            local, self.rules.near_due_working_hours, self.rules.work_windows, strict=False
        )
        self._note_gap(local, t)
        return t.astimezone(UTC)

    def light(self, due: datetime | None, now: datetime, threshold: datetime | None = None) -> str:
        """'red' (overdue), 'yellow' (near due), 'green', or '' when the stage has no deadline."""
        if due is None:
            return ""
        if due < now:
            return "red"
        return light(due, now, threshold or self.near_threshold(now))


def light(due: datetime | None, now: datetime, threshold: datetime) -> str:
    """:meth:`Clock.light` with the near-due threshold already worked out (one per page of cases)."""
    if due is None:
        return ""
    if due < now:
        return "red"
    return "yellow" if due <= threshold else "green"


def _at(local: datetime, t: time) -> datetime:
    return local.replace(hour=t.hour, minute=t.minute, second=0, microsecond=0)


# which stored deadline governs each state (the "current" due, indexed with status for the sweep)
STAGE_OF_STATE = {
    "intake": ("dispatch", "dispatch_due"),
    "returned": ("dispatch", "dispatch_due"),
    "reopened": ("dispatch", "dispatch_due"),
    "dispatched": ("sign", "sign_due"),
    "signed": ("handle", "handle_due"),
    "in_progress": ("handle", "handle_due"),
    "extension_requested": ("handle", "handle_due"),
}
