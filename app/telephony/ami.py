"""A guarded AMI connection over panoramisk 1.4.

Works around the library's known defects (see docs/asterisk.md):
- every action has a timeout (send_command/send_action otherwise wait forever) and errors raise;
- Originate always carries `Async: true` (without it panoramisk drops the connection) and is cancelled
  on timeout so it is never re-sent after a reconnect;
- a liveness check pings and forces a reconnect when a reply does not come back;
- after every login the owner is told (on_login) so it can resynchronise state;
- close() really closes (the base class would reconnect after connection_lost);
- the session asks only for the event classes its process needs (``set_event_mask``; every login
  carries the current mask, docs/adr/2026-12-03-ami-event-mask.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from panoramisk import Manager
from panoramisk.message import Message

from app.settings import AsteriskServer

log = logging.getLogger(__name__)


class AmiError(Exception):
    pass


# AMI event classes (manager.conf ``read``; each event names its class in ``Privilege``, e.g. "agent,all").
ALL_EVENTS = "on"
# A follower's session serves actions and the originators' listeners (surveys, call-backs), which
# wait for OriginateResponse: class ``call`` in Asterisk 16. The queue/agent events (``agent``) and
# UserEvent (``user``) are the leader's alone.
FOLLOWER_EVENTS = "call"


def event_mask(leading: bool) -> str:
    """The event classes a process's session to one Asterisk server asks for: all of them when the
    process consumes that server's events (its leader, or the one process on SQLite), else only what
    its listeners need."""
    return ALL_EVENTS if leading else FOLLOWER_EVENTS


# Actions whose answer is an event list. For every other action panoramisk must be told
# as_list=False: it otherwise guesses from the reply text ("Added interface to queue" looks like the
# start of a list to it) and the future never completes.
LIST_ACTIONS = {
    "queuestatus",
    "queuesummary",
    "coreshowchannels",
    "status",
    "pjsipshowendpoints",
    "pjsipshowcontacts",
    "pjsipshowregistrationsinbound",
    "showdialplan",
    "bridgelist",
    "agents",
}


class _GuardedManager(Manager):  # type: ignore[misc]
    closing = False
    login_events = ALL_EVENTS  # the event mask the latest Login carried

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closing:
            self._connected = False
            return
        super().connection_lost(exc)

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        if self.closing:
            return None
        return super().connect(*args, **kwargs)

    def connection_made(self, f: Any) -> None:
        if self.closing:
            return
        self.login_events = self.config["events"]  # the Login sent now asks for it
        super().connection_made(f)


def message_fields(msg: Message) -> dict[str, str]:
    return {str(k): (v if isinstance(v, str) else str(v)) for k, v in dict(msg).items()}


class AmiConnection:
    def __init__(
        self,
        server: AsteriskServer,
        *,
        on_event: Callable[[str, dict[str, str]], None],
        on_login: Callable[[AmiConnection], Awaitable[None]] | None = None,
        on_status: Callable[[AmiConnection], None] | None = None,
        action_timeout_s: float = 5.0,
        ping_interval_s: float = 5.0,
        event_mask: str = ALL_EVENTS,
    ) -> None:
        self.server = server
        self.name = server.name
        self._on_event = on_event
        self._listeners: list[Callable[[str, dict[str, str]], None]] = []
        self._on_login = on_login
        self._on_status = on_status  # told on every login and disconnect (``connected`` changed)
        self.action_timeout_s = action_timeout_s
        self.ping_interval_s = ping_interval_s
        self.event_mask = event_mask  # the event classes this session asks for, at every login
        self.manager: _GuardedManager | None = None
        self.logged_in = asyncio.Event()
        self.logins = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._liveness: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        m = self.manager
        return bool(m and m._connected and getattr(m, "authenticated", False) and self.logged_in.is_set())

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.manager = _GuardedManager(
            loop=loop,
            host=self.server.ami_host,
            port=self.server.ami_port,
            username=self.server.ami_user,
            secret=self.server.ami_secret,
            ping_delay=3600,  # our own liveness check replaces the unchecked pinger
            ping_interval=3600,
            reconnect_timeout=1,
            on_login=self._logged_in,
            on_disconnect=self._disconnected,
            events=self.event_mask,
        )
        self.manager.register_event("*", self._dispatch)
        self.manager.connect()
        self._liveness = asyncio.create_task(self._liveness_loop())

    def _dispatch(self, _manager: Any, msg: Message) -> None:
        ev = message_fields(msg)
        if ev.get("Event") in ("TestEvent", "VarSet", "Newexten"):
            return
        self._on_event(self.name, ev)
        for listener in list(self._listeners):
            listener(self.name, ev)

    def add_listener(self, fn: Callable[[str, dict[str, str]], None]) -> None:
        self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[str, dict[str, str]], None]) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _logged_in(self, _manager: Any) -> None:
        self.logins += 1
        self.logged_in.set()
        log.info("AMI %s: logged in (#%d)", self.name, self.logins)
        if self._on_status is not None:
            self._on_status(self)
        stale = self.manager is not None and self.manager.login_events != self.event_mask
        if stale or self._on_login is not None:
            t: asyncio.Task[None] = asyncio.ensure_future(self._after_login(stale))
            self._tasks.add(t)
            t.add_done_callback(self._tasks.discard)

    async def _after_login(self, stale_mask: bool) -> None:
        if stale_mask:  # the mask changed while the Login was on its way: ask again, before the owner
            try:
                await self.set_event_mask(self.event_mask)
            except AmiError as e:
                log.warning("AMI %s: event mask %s not set (%s); reconnecting", self.name, self.event_mask, e)
                self.reconnect()
                return
        if self._on_login is not None:
            await self._on_login(self)

    def _disconnected(self, _manager: Any, exc: Exception | None) -> None:
        self.logged_in.clear()
        log.warning("AMI %s: disconnected (%s)", self.name, exc)
        if self._on_status is not None:
            self._on_status(self)

    async def wait_connected(self, timeout: float) -> bool:
        try:
            async with asyncio.timeout(timeout):
                await self.logged_in.wait()
            return True
        except TimeoutError:
            return False

    async def action(
        self, action: dict[str, Any], *, as_list: bool | None = None, timeout: float | None = None
    ) -> list[dict[str, str]]:
        """Send an action; return its messages as plain dicts. Raises AmiError on error or timeout."""
        if self.manager is None or not self.connected:
            raise AmiError(f"AMI {self.name} is not connected")
        name = str(action.get("Action", "")).lower()
        if name == "originate":
            action = {**action, "Async": "true"}
        if as_list is None:
            as_list = name in LIST_ACTIONS
        fut = self.manager.send_action(action, as_list=as_list)
        try:
            async with asyncio.timeout(timeout or self.action_timeout_s):
                res = await asyncio.shield(fut)
        except TimeoutError as e:
            fut.cancel()  # never re-sent after a reconnect
            raise AmiError(f"AMI {self.name}: {action.get('Action')} timed out") from e
        msgs = res if isinstance(res, list) else [res]
        out = [message_fields(m) for m in msgs]
        first = out[0] if out else {}
        if first.get("Response", "").lower() == "error":
            raise AmiError(f"AMI {self.name}: {action.get('Action')}: {first.get('Message', 'error')}")
        return out

    async def set_event_mask(self, mask: str, *, timeout: float | None = None) -> None:
        """Which event classes Asterisk sends this session from now on (``on``, or e.g. ``call``): the
        AMI ``Events`` action, which needs no write privilege. Kept for every later login (the Login
        action carries it), so a reconnect asks for the same. Not connected: only kept. Raises
        AmiError when Asterisk refuses or does not answer in time."""
        self.event_mask = mask
        if self.manager is not None:
            self.manager.config["events"] = mask
        if self.connected:
            await self.action({"Action": "Events", "EventMask": mask}, as_list=False, timeout=timeout)

    def reconnect(self) -> None:
        """Drops the session; panoramisk connects and logs in again (and on_login follows)."""
        proto = getattr(self.manager, "protocol", None)
        if proto is not None and proto.transport is not None:
            proto.transport.close()

    async def _liveness_loop(self) -> None:
        while True:
            await asyncio.sleep(self.ping_interval_s)
            if self.manager is None or not self.connected:
                continue
            try:
                await self.action({"Action": "Ping"}, timeout=max(1.0, self.ping_interval_s))
            except AmiError:
                log.warning("AMI %s: ping unanswered; forcing reconnect", self.name)
                self.reconnect()

    async def close(self) -> None:
        if self._liveness:
            self._liveness.cancel()
        for t in list(self._tasks):
            t.cancel()
        if self.manager is not None:
            self.manager.closing = True
            self.manager.close()
        self.logged_in.clear()
