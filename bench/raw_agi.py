"""The minimal FastAGI responder: the reference for the AGI step's own cost. Not a test.

For every connection it reads Asterisk's headers, sends one MSet with the variables the `incoming` route
sends for a Kunming mobile caller (computed once, at start, by the real decision), reads Asterisk's reply
and closes: the protocol with nothing else (no per-call decision, no guard, no call row, no metrics), on
uvloop in a process of its own. bench/sip_load_bench.py runs it beside the backend and routes its
4XXXX calls here, so "AGI" can be set against both the static dialplan and this.

    .venv/bin/python bench/raw_agi.py --port 4574
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agi_handlers.incoming import context_from_env, variables  # noqa: E402
from agi_handlers.server import mset_command  # noqa: E402
from app.agi_main import event_loop_factory  # noqa: E402
from callflow import decide, load_config  # noqa: E402


def command(config_path: str | None) -> bytes:
    config = load_config(config_path)
    env = {"agi_callerid": "13987112345", "agi_arg_4": "12345"}
    decision = decide(context_from_env(env, None), datetime.now(UTC), config)
    return (mset_command(variables(decision, config)) + "\n").encode()


async def serve(port: int, config_path: str | None) -> None:
    line = command(config_path)

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\n\n")
            writer.write(line)
            await reader.readline()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(one, "127.0.0.1", port, backlog=4096)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"raw FastAGI on 127.0.0.1:{port}", flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--config", help="the platform YAML the backend routes with (default: the shipped one)")
    a = ap.parse_args()
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(serve(a.port, a.config))


if __name__ == "__main__":
    main()
