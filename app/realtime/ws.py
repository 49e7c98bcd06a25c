"""WebSocket plumbing shared by the agent desktop and the wallboard: authenticate, subscribe to the
event hub, and pump messages until the client goes away."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

from fastapi import HTTPException, WebSocket, WebSocketDisconnect

from app.auth.deps import token_from, user_from_token
from app.auth.models import Role, User
from app.events import Event

log = logging.getLogger(__name__)
AUTH_MESSAGE_TIMEOUT_S = 5.0


def origin_allowed(websocket: WebSocket) -> bool:
    """A browser always sends Origin on a WebSocket handshake: it must be this site or one configured
    in settings.allowed_origins (cross-site WebSocket hijacking rides on the victim's cookie).
    Clients that are not browsers send none and must authenticate by header or first message."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    if urlsplit(origin).netloc.lower() == websocket.headers.get("host", "").lower():
        return True
    allowed = websocket.app.state.runtime.settings.allowed_origins
    return origin.rstrip("/").lower() in {o.rstrip("/").lower() for o in allowed}


async def _user(websocket: WebSocket, token: str | None) -> User | None:
    runtime = websocket.app.state.runtime
    try:
        async with runtime.db.read_sessionmaker() as session:
            user = await user_from_token(runtime, session, token)
    except HTTPException:
        return None
    return None if user.must_change_password else user


async def _first_message_token(websocket: WebSocket) -> str | None:
    try:
        async with asyncio.timeout(AUTH_MESSAGE_TIMEOUT_S):
            raw = await websocket.receive_text()
        msg = json.loads(raw)
    except (TimeoutError, WebSocketDisconnect, RuntimeError, ValueError):
        return None
    if isinstance(msg, dict) and msg.get("type") == "auth" and isinstance(msg.get("token"), str):
        return str(msg["token"])
    return None


async def accept_user(websocket: WebSocket, *roles: Role) -> User | None:
    """Checks Origin, then the session (cookie or Authorization header at the handshake, refused with
    HTTP 403 when missing or wrong; else a first message {"type": "auth", "token": …} within 5 s,
    refused with close code 4401). A user without the role is refused with 4403."""
    if not origin_allowed(websocket):
        log.warning("WebSocket %s refused: Origin %r", websocket.url.path, websocket.headers.get("origin"))
        await websocket.close(code=4403)
        return None
    token = token_from(websocket.headers, websocket.cookies)
    if token is not None:
        user = await _user(websocket, token)
        if user is None or user.role not in roles:
            await websocket.close(code=4401 if user is None else 4403)
            return None
        await websocket.accept()
        return user
    await websocket.accept()
    user = await _user(websocket, await _first_message_token(websocket))
    if user is None or user.role not in roles:
        await websocket.close(code=4401 if user is None else 4403)
        return None
    return user


async def send(websocket: WebSocket, msg: dict[str, Any]) -> None:
    await websocket.send_text(json.dumps(msg, ensure_ascii=False, default=str))


@contextlib.asynccontextmanager
async def subscription(
    websocket: WebSocket, accept: Callable[[Event], bool] | None = None
) -> AsyncIterator[asyncio.Queue[Event]]:
    """An event queue for this socket (only the events ``accept`` takes, when given); also watches the
    socket so a disconnect ends the pump."""
    hub = websocket.app.state.runtime.hub
    q = hub.queue(maxsize=5000, accept=accept)

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
