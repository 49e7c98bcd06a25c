"""Everything one running service holds: settings, database, event hub, routing config, telephony."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.auth.service import TokenSigner
from app.db import Database
from app.events import EventHub
from app.settings import Settings

if TYPE_CHECKING:
    from callflow import HotlineConfig

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    hub: EventHub
    signer: TokenSigner
    config: HotlineConfig
    # started components register themselves here (telephony, agi, workers, schedulers)
    components: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        from callflow import load_config

        config = load_config(settings.platform_config, holiday_dir=settings.holiday_dir)
        return cls(
            settings=settings,
            db=Database(settings.database_url),
            hub=EventHub(),
            signer=TokenSigner(settings.session_secret, settings.token_ttl_s),
            config=config,
        )

    def reload_calendar(self) -> None:
        from callflow import load_config

        self.config = load_config(self.settings.platform_config, holiday_dir=self.settings.holiday_dir)
