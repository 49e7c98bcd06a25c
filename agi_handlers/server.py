"""The FastAGI server: panoramisk's Application with guards for its known defects.

- Headers are read with a size and time bound; a connection that closes before its headers (a
  health check, a port scan) is dropped instead of spinning the event loop.
- A hang-up while a command is in flight raises AgiHangup instead of looping on empty reads.
- Every handler runs under a time bound, so a stalled handler never holds a caller forever.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from panoramisk.fast_agi import Application, Request
from panoramisk.utils import parse_agi_result

from agi_handlers.guard import AgiGuard

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 16 * 1024


class AgiHangup(Exception):
    pass


def mset_command(values: dict[str, object]) -> str:
    """The AGI command setting several channel variables at once. Values lose characters MSet cannot
    carry."""
    parts = []
    for name, value in values.items():
        text = str(value if value is not None else "")
        text = "".join(ch for ch in text if ch not in ',"\\\n|')
        parts.append(f"{name}={text}")
    return f'EXEC MSet "{",".join(parts)}"'


class AgiRequest(Request):  # type: ignore[misc]
    async def _read_result(self) -> dict[str, Any]:
        line = await self.reader.readline()
        if not line:
            raise AgiHangup("connection closed by Asterisk")
        return parse_agi_result(line.decode(self.encoding).rstrip("\n"))  # type: ignore[no-any-return]

    @property
    def env(self) -> dict[str, str]:
        return dict(self.headers)

    async def cmd(self, command: str) -> dict[str, Any]:
        res = await self.send_command(command)
        if res.get("error") == "AGIResultHangup":
            raise AgiHangup(res.get("msg", "hangup"))
        return res  # type: ignore[no-any-return]

    async def set_var(self, name: str, value: object) -> None:
        text = str(value if value is not None else "").replace("\\", "\\\\").replace('"', '\\"')
        text = text.replace("\n", " ")
        await self.cmd(f'SET VARIABLE {name} "{text}"')

    async def set_vars(self, values: dict[str, object]) -> None:
        """Several variables in one round trip (MSet)."""
        await self.cmd(mset_command(values))

    async def get_var(self, name: str) -> str | None:
        res = await self.cmd(f"GET VARIABLE {name}")
        r = res.get("result")
        if isinstance(r, tuple | list) and r and str(r[0]) == "1":
            return str(r[1]).strip("()") if len(r) > 1 else ""
        return None


Endpoint = Callable[[AgiRequest], Awaitable[None]]
# Told about every request once it is done: (route, seconds, outcome) — outcome is ok, timeout,
# hangup, error or no_route. The service passes its metrics recorder (app.observability.instruments).
Observer = Callable[[str, float, str], None]


class GuardedApplication(Application):  # type: ignore[misc]
    def __init__(
        self,
        *,
        handler_timeout_s: float = 2.0,
        header_timeout_s: float = 2.0,
        route_timeouts: dict[str, float] | None = None,
        observer: Observer | None = None,
        guard: AgiGuard | None = None,
    ) -> None:
        super().__init__(loop=asyncio.get_running_loop())
        self.observer = observer
        self.guard = guard
        self.handler_timeout_s = handler_timeout_s
        self.route_timeouts = route_timeouts or {}
        self.header_timeout_s = header_timeout_s
        self.stats: dict[str, int] = {
            "requests": 0, "refused": 0, "dropped": 0, "timeouts": 0, "errors": 0, "hangups": 0, "ok": 0
        }
        self.routes_served: dict[str, int] = {}

    async def handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(self.header_timeout_s):  # (wait_for would start a task per call)
                raw = await reader.readuntil(b"\n\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
            self.stats["dropped"] += 1
            writer.close()
            return
        if len(raw) > MAX_HEADER_BYTES:
            self.stats["dropped"] += 1
            writer.close()
            return
        lines = raw[:-2].decode(self.default_encoding, errors="replace").split("\n")
        headers: OrderedDict[str, str] = OrderedDict()
        for line in lines:
            key, sep, value = line.partition(": ")
            if sep:
                headers[key] = value
        script = headers.get("agi_network_script", "")
        if self.guard is not None:
            peer = writer.get_extra_info("peername")
            reason = self.guard.refuse(peer[0] if peer else None, headers)
            if reason is not None:
                self.stats["refused"] += 1
                log.warning("FastAGI request for %r refused: %s", script[:64], reason)
                if self.observer is not None:
                    self.observer("refused", 0.0, "refused")
                writer.close()
                return
        route = self._route.get(script)
        self.stats["requests"] += 1
        if route is None:
            log.error("FastAGI: no route %r", script)
            if self.observer is not None:
                self.observer("unknown", 0.0, "no_route")
            writer.close()
            return
        request = AgiRequest(
            app=self, headers=headers, reader=reader, writer=writer, encoding=self.default_encoding
        )
        t0 = time.perf_counter()
        outcome = "ok"
        try:
            async with asyncio.timeout(self.route_timeouts.get(script, self.handler_timeout_s)):
                await route(request)
        except TimeoutError:
            outcome = "timeout"
            self.stats["timeouts"] += 1
            log.error("FastAGI route %s exceeded its time bound", script)
        except AgiHangup:
            outcome = "hangup"
            log.info("FastAGI route %s: caller hung up", script)
        except Exception:
            outcome = "error"
            self.stats["errors"] += 1
            log.exception("FastAGI route %s failed", script)
        finally:
            elapsed = time.perf_counter() - t0
            if outcome in ("ok", "hangup"):  # timeouts and errors were counted above
                self.stats["ok" if outcome == "ok" else "hangups"] += 1
            self.routes_served[script] = self.routes_served.get(script, 0) + 1
            log.debug("FastAGI %s took %.2f ms", script, elapsed * 1000)
            if self.observer is not None:
                self.observer(script, elapsed, outcome)
            writer.close()


class AgiServer:
    def __init__(
        self,
        host: str,
        port: int,
        routes: dict[str, Endpoint],
        *,
        handler_timeout_s: float = 2.0,
        route_timeouts: dict[str, float] | None = None,
        observer: Observer | None = None,
        guard: AgiGuard | None = None,
        backlog: int = 4096,
        reuse_port: bool = False,
    ) -> None:
        self.host, self.port = host, port
        self.backlog = backlog  # listen(2) backlog: connections Asterisk opens faster than we accept
        self.reuse_port = reuse_port  # several FastAGI processes on one port (the kernel spreads calls)
        self.observer = observer
        self.guard = guard
        self.routes = routes
        self.handler_timeout_s = handler_timeout_s
        self.route_timeouts = route_timeouts or {}
        self.app: GuardedApplication | None = None
        self.server: asyncio.Server | None = None

    @property
    def listening(self) -> bool:
        return self.server is not None and self.server.is_serving()

    async def start(self) -> None:
        self.app = GuardedApplication(
            handler_timeout_s=self.handler_timeout_s, route_timeouts=self.route_timeouts, observer=self.observer,
            guard=self.guard,
        )
        for name, endpoint in self.routes.items():
            self.app.add_route(name, endpoint)
        self.server = await asyncio.start_server(
            self.app.handler, self.host, self.port, backlog=self.backlog, reuse_port=self.reuse_port or None
        )
        log.info("FastAGI listening on %s:%d (%s)", self.host, self.port, ", ".join(self.routes))

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
