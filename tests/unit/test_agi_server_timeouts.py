"""The FastAGI server's two time bounds, as Asterisk sees them: a request whose headers never finish is
dropped, and a route that overruns its bound is cut off, so the connection closes and the dialplan goes
on (AGISTATUS FAILURE: the default queue) instead of waiting for Asterisk's own give-up."""

from __future__ import annotations

import asyncio
import time

from agi_handlers.server import AgiRequest, AgiServer
from asterisk_conf.sandbox import free_port

HEADERS = b"agi_network_script: slow\nagi_uniqueid: 1700000300.1\nagi_callerid: 13987110104\n\n"


async def _closed_after(port: int, payload: bytes) -> float:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    t0 = time.monotonic()
    writer.write(payload)
    await writer.drain()
    rest = await asyncio.wait_for(reader.read(), 10)  # b"" once the server closes
    writer.close()
    assert rest == b""
    return time.monotonic() - t0


async def test_a_route_over_its_bound_is_cut_off_and_a_silent_client_dropped() -> None:
    started: list[str] = []

    async def slow(request: AgiRequest) -> None:
        started.append(request.headers["agi_uniqueid"])
        await asyncio.sleep(30)

    port = free_port()
    server = AgiServer("127.0.0.1", port, {"slow": slow}, handler_timeout_s=5.0, route_timeouts={"slow": 0.3})
    await server.start()
    assert server.app is not None
    server.app.header_timeout_s = 0.3
    try:
        took = await _closed_after(port, HEADERS)
        assert started == ["1700000300.1"] and 0.25 < took < 5
        assert server.app.stats["timeouts"] == 1 and server.app.stats["ok"] == 0
        took = await _closed_after(port, b"agi_network_script: slow\n")  # the blank line never comes
        assert 0.25 < took < 5 and server.app.stats["dropped"] == 1
        assert started == ["1700000300.1"]
    finally:
        await server.stop()
