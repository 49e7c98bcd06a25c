"""The knowledge base's events (the one place their topics and payloads are built).

- ``kb.article.saved``  an article was created, edited, published or retired (a new version)
"""

from __future__ import annotations

from app.events import Event
from app.kb.models import KbArticle

SAVED = "kb.article.saved"
TOPICS = (SAVED,)


def saved(a: KbArticle) -> Event:
    return Event(
        SAVED,
        {
            "id": a.id,
            "version": a.version,
            "status": a.status,
            "platform": a.platform,
            "owner_unit": a.owner_unit,
        },
    )
