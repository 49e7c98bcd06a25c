"""WebSocket plumbing shared by the agent desktop and the wallboard: authenticate, subscribe to the
event hub, and pump messages until the client goes away."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import HTTPException, WebSocket, WebSocketDisconnect

from app.auth.deps import websocket_user
from app.auth.models import Role, User
from app.events import Event

log = logging.getLogger(__name__)


async def accept_user(websocket: WebSocket, *roles: Role) -> User | None:
    """Authenticates before accepting; refuses (HTTP 403 at the handshake) when not allowed."""
    try:
        user = await websocket_user(websocket)
    except HTTPException:
        await websocket.close(code=4401)
        return None
    if user.role not in roles:
        await websocket.close(code=4403)
        return None
    await websocket.accept()
    return user


async def send(websocket: WebSocket, msg: dict[str, Any]) -> None:
    await websocket.send_text(json.dumps(msg, ensure_ascii=False, default=str))


@contextlib.asynccontextmanager
async def subscription(websocket: WebSocket) -> AsyncIterator[asyncio.Queue[Event]]:
    """An event queue for this socket; also watches the socket so a disconnect ends the pump."""
    hub = websocket.app.state.runtime.hub
    q = hub.queue(maxsize=5000)

    async def reader() -> None:
        try:
            while True:
                await websocket.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            pass
        with contextlib.suppress(asyncio.QueueFull):
            q.put_nowait(Event("_closed"))

    task = asyncio.create_task(reader())
    try:
        yield q
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.drop_queue(q)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def drain(q: asyncio.Queue[Event]) -> list[Event]:
    out = []
    while not q.empty():
        out.append(q.get_nowait())
    return out
