"""`hotline agi`: the FastAGI server in a process of its own (docs/adr/process-model.md).

Asterisk's calls are routed here, on an event loop that serves nothing else: no HTTP request, AMI
burst or scheduler can delay a routing decision. The process reads the live queue state the AMI
leader shares (app.telephony.shared); each decision travels with its call to the leader, which writes
the call row (app.telephony.decisions.CarriedByCall). It needs PostgreSQL (the state and the bus);
SQLite keeps FastAGI in the one process. Several may run on one port (SO_REUSEPORT: the kernel spreads
Asterisk's connections)."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack

from app.settings import Settings

log = logging.getLogger(__name__)


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    from app.bus import CONTROL_CHANNEL, message_bus
    from app.runtime import Runtime
    from app.wiring import telephony_of_agi_process

    runtime = Runtime.build(settings)
    try:
        async with AsyncExitStack() as stack:
            # the bus's control notices only (the live state, the calendar): the pages' events are not
            # this process's business
            await stack.enter_async_context(message_bus(runtime, listen=(CONTROL_CHANNEL,)))
            await stack.enter_async_context(telephony_of_agi_process(runtime))
            # as the HTTP workers do (app.main.settle_heap): what start-up built leaves the cyclic
            # collector's view, so a collection during a burst of calls walks only the calls' objects
            gc.collect()
            gc.freeze()
            log.info("FastAGI process ready on %s:%d", settings.agi_host, settings.agi_port)
            await stop.wait()
    finally:
        await runtime.db.dispose()


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """The event loop uvicorn gives the HTTP workers (and the single process): uvloop where installed
    (uvicorn[standard] brings it on Linux), asyncio's own elsewhere."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - platforms without uvloop
        return asyncio.new_event_loop
    return uvloop.new_event_loop  # type: ignore[no-any-return]


def main(settings: Settings) -> int:
    from app.observability.logging import configure_logging
    from app.pg import is_pg

    configure_logging(settings.log_format, settings.log_level)
    if not is_pg(settings.database_url):
        print(
            "hotline agi: FastAGI runs in a process of its own only on PostgreSQL (it reads the live "
            "queue state the AMI leader shares); on SQLite `hotline run` serves it in its one process",
            file=sys.stderr,
        )
        return 2
    # this process serves FastAGI only: no AMI session of its own, no migrations
    settings = settings.model_copy(
        update={
            "ami_enabled": False, "agi_enabled": True, "auto_migrate": False, "agi_reuse_port": True,
            # one routing decision holds a connection for a few milliseconds: a small pool suffices
            "db_pool_size": settings.agi_db_pool_size, "db_max_overflow": settings.agi_db_max_overflow,
        }
    )  # fmt: skip

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop)

    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(run())
    return 0
