"""Which voicemail greeting a caller hears: it says when staff are back (pure).

- the platform is open, or staffed 7×24, but nobody answered in time → "voicemail-busy";
- it opens again later today (e.g. after lunch)                      → "voicemail-closed-today";
- it opens tomorrow                                                  → "voicemail-closed-tomorrow";
- later (weekend, public holiday)                                    → "voicemail-closed-later".
Prompt texts are in ivr/prompts.py; they name no clock time, so any configured hours fit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from callflow.config import HotlineConfig, Platform

BUSY = "voicemail-busy"
TODAY = "voicemail-closed-today"
TOMORROW = "voicemail-closed-tomorrow"
LATER = "voicemail-closed-later"


def next_opening(
    platform: Platform, local: datetime, config: HotlineConfig, horizon_days: int = 60
) -> datetime | None:
    """The next moment the platform is staffed, `local` itself if it is open now; None for 7×24
    (always open) or when no opening is found within the horizon."""
    if platform.hours.always_open:
        return None
    windows = sorted(platform.hours.windows)
    for offset in range(horizon_days + 1):
        day = local.date() + timedelta(days=offset)
        workday, _ = config.calendar.is_workday_or_guess(day)
        if not workday:
            continue
        for start, end in windows:
            opening = datetime.combine(day, start, tzinfo=local.tzinfo)
            if offset == 0:
                if start <= local.time() < end:
                    return local
                if local.time() >= start:
                    continue
            return opening
    return None


def voicemail_greeting(platform: Platform, now: datetime, config: HotlineConfig) -> str:
    local = now.astimezone(config.zone) if now.tzinfo else now.replace(tzinfo=config.zone)
    opening = next_opening(platform, local, config)
    if opening is None or opening <= local:
        return BUSY
    if opening.date() == local.date():
        return TODAY
    if opening.date() == local.date() + timedelta(days=1):
        return TOMORROW
    return LATER
