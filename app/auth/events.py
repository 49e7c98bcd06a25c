"""The auth domain's events: THE one place their topics and payloads are built.

- ``auth.sessions_ended``  every session of a user ended (logout, password change or reset, disabling):
  the session cache (app.auth.cache) drops the user at once

Builders are pure; boundaries publish what they return with :func:`app.events.commit_and_publish`.
"""

from __future__ import annotations

from app.auth.models import User
from app.events import Event

SESSIONS_ENDED = "auth.sessions_ended"
TOPICS = (SESSIONS_ENDED,)


def sessions_ended(user: User) -> Event:
    return Event(SESSIONS_ENDED, {"user_id": user.id, "username": user.username})
