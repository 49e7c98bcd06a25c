"""The explicit AGI route table: route name (agi://host:port/<name>) → handler module."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from agi_handlers import incoming, queue_callback, survey, voicemail
from agi_handlers.ports import AgiPorts
from agi_handlers.server import AgiRequest

Handler = Callable[[AgiRequest, AgiPorts], Awaitable[None]]

ROUTES: dict[str, Handler] = {
    "incoming": incoming.handle,
    "voicemail": voicemail.handle,
    "survey": survey.handle,
    "queue-callback": queue_callback.handle,
}

# per-route time bounds (seconds) where the default handler bound does not fit
ROUTE_TIMEOUTS: dict[str, float] = {"survey": survey.TIMEOUT_S, "voicemail": voicemail.TIMEOUT_S}


def bind(ports: AgiPorts) -> dict[str, Callable[[AgiRequest], Awaitable[None]]]:
    """The FastAGI endpoints, each handler bound to the service's ports (app.wiring builds them)."""

    def endpoint(handler: Handler) -> Callable[[AgiRequest], Awaitable[None]]:
        async def run(request: AgiRequest) -> None:
            await handler(request, ports)

        return run

    return {name: endpoint(h) for name, h in ROUTES.items()}
