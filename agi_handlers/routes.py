"""The explicit AGI route table: route name (agi://host:port/<name>) → handler module."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from agi_handlers import incoming, survey, voicemail
from agi_handlers.server import AgiRequest

if TYPE_CHECKING:
    from app.runtime import Runtime

Handler = Callable[[AgiRequest, "Runtime"], Awaitable[None]]

ROUTES: dict[str, Handler] = {
    "incoming": incoming.handle,
    "voicemail": voicemail.handle,
    "survey": survey.handle,
}

# per-route time bounds (seconds) where the default handler bound does not fit
ROUTE_TIMEOUTS: dict[str, float] = {"survey": survey.TIMEOUT_S, "voicemail": voicemail.TIMEOUT_S}


def bind(runtime: Runtime) -> dict[str, Callable[[AgiRequest], Awaitable[None]]]:
    def endpoint(handler: Handler) -> Callable[[AgiRequest], Awaitable[None]]:
        async def run(request: AgiRequest) -> None:
            await handler(request, runtime)

        return run

    return {name: endpoint(h) for name, h in ROUTES.items()}
