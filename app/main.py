"""The FastAPI application: one process holds the HTTP API, the FastAGI server and the AMI client;
or, with several processes on PostgreSQL, one HTTP worker of several (docs/adr/process-model.md)."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from app.bounds import install_out_of_range_handlers
from app.lifecycle import STARTERS
from app.limits import MaxBodySize
from app.migrate import upgrade_async
from app.observability.logging import RequestContext
from app.ops import hotline_version
from app.ops.docs import install_docs
from app.routers import ROUTERS
from app.runtime import Runtime
from app.settings import Settings, get_settings
from app.web.router import static
from app.web.security import SecurityHeaders, install_log_redaction

log = logging.getLogger(__name__)


def settle_heap() -> None:
    """Once started: what start-up built (modules, routes, models, configuration — most of the heap)
    leaves the cyclic collector's view (gc.freeze), so the collections that requests trigger walk
    only their own short-lived objects, not the whole application each time
    (docs/adr/2026-12-02-request-cost.md)."""
    gc.collect()
    gc.freeze()


def worker_app() -> FastAPI:
    """One HTTP worker of ``hotline run --workers N`` / the production unit (uvicorn --factory):
    settings from the environment, the process's own logging set up."""
    from app.observability.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    install_log_redaction()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.build(settings)
        app.state.runtime = runtime
        if settings.auto_migrate:
            await upgrade_async(settings.database_url)
        async with AsyncExitStack() as stack:
            for starter in STARTERS:
                await stack.enter_async_context(starter(runtime))
            settle_heap()
            try:
                yield
            finally:
                log.info("shutting down")
        await runtime.db.dispose()

    app = FastAPI(
        title="Hotline 12345", version=hotline_version(), lifespan=lifespan, docs_url=None, redoc_url=None
    )
    install_docs(app)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", static, name="static")
    app.add_middleware(MaxBodySize, max_bytes=settings.max_upload_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestContext)  # outermost: request id and access line for every response
    install_out_of_range_handlers(app)
    return app
