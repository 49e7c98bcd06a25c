"""/metrics against the real sandbox Asterisk: a simulated call through the dialplan and FastAGI moves
the AGI latency histogram and the calls counter; an AMI connection cut by force shows up as a
reconnect once the backend has logged in again."""

from __future__ import annotations

import asyncio
import json

from app.simcall import place_call
from app.telephony.lifecycle import TELEPHONY
from tests.conftest import running_app
from tests.integration.test_ops_logging import json_lines
from tests.metrics_text import samples, total
from tests.system.conftest import backend_settings, write_config

TOKEN = "prometheus-scrape-token-system"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def _scrape(client) -> dict:
    r = await client.get("/metrics", headers=AUTH)
    assert r.status_code == 200, r.text
    return samples(r.text)


async def _until(client, cond, timeout: float = 10.0) -> dict:
    snap = await _scrape(client)
    for _ in range(int(timeout / 0.1)):
        if cond(snap):
            return snap
        await asyncio.sleep(0.1)
        snap = await _scrape(client)
    return snap


async def test_call_moves_agi_latency_and_calls_and_reconnect_is_counted(tmp_path, sqlite_url, asterisk):
    settings = backend_settings(
        tmp_path, sqlite_url, asterisk, platform_config=write_config(tmp_path), metrics_token=TOKEN
    )
    async with running_app(settings) as (app, client):
        before = await _scrape(client)
        tel = app.state.runtime.require(TELEPHONY)
        with json_lines() as buf:
            res = await place_call(
                asterisk.server, "13987112345", conn=tel.connection_for(None), as_citizen=True
            )
        assert res.error is None and res.route == "queue", res.to_dict()
        # the log line of the FastAGI request names the call (structured logs, JSON) and not the caller
        lines = [json.loads(x) for x in buf.getvalue().splitlines() if x.strip()]
        agi_lines = [x for x in lines if x["msg"].startswith("FastAGI incoming")]
        assert agi_lines and agi_lines[0]["call_id"] == res.uniqueid, lines
        assert "13987112345" not in agi_lines[0]["msg"]

        def called(s: dict) -> bool:
            return total(s, "hotline_calls_total", route="queue") > total(
                before, "hotline_calls_total", route="queue"
            )

        def offered(s: dict) -> bool:  # the gauge reads the call row, written by the AMI consumer's batch
            return called(s) and total(s, "hotline_calls_offered_today", platform="kunming") >= 1

        after = await _until(client, offered, timeout=30)
        agi = total(after, "hotline_agi_request_seconds_count", route="incoming", outcome="ok") - total(
            before, "hotline_agi_request_seconds_count", route="incoming", outcome="ok"
        )
        assert agi == 1
        spent = total(after, "hotline_agi_request_seconds_sum", route="incoming") - total(
            before, "hotline_agi_request_seconds_sum", route="incoming"
        )
        assert 0 < spent < 2.0  # the handler's own time bound
        assert called(after)
        assert total(after, "hotline_calls_total", platform="kunming", route="queue") >= 1
        assert total(after, "hotline_calls_offered_today", platform="kunming") >= 1

        # cut the AMI connection under the backend; it logs in again and resynchronises
        conn = tel.connection_for(None)
        name = conn.name
        base = total(after, "hotline_ami_reconnects_total", server=name)
        conn.manager.protocol.transport.close()

        def reconnected(s: dict) -> bool:
            return total(s, "hotline_ami_reconnects_total", server=name) == base + 1

        final = await _until(client, reconnected, timeout=15)
        assert reconnected(final), {k: v for k, v in final.items() if k[0].startswith("hotline_ami")}
