"""The FastAPI application: one process holds the HTTP API, the FastAGI server and the AMI client."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from app.lifecycle import STARTERS
from app.limits import MaxBodySize
from app.migrate import upgrade_async
from app.routers import ROUTERS
from app.runtime import Runtime
from app.settings import Settings, get_settings
from app.web.router import static

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.build(settings)
        app.state.runtime = runtime
        if settings.auto_migrate:
            await upgrade_async(settings.database_url)
        async with AsyncExitStack() as stack:
            for starter in STARTERS:
                await stack.enter_async_context(starter(runtime))
            try:
                yield
            finally:
                log.info("shutting down")
        await runtime.db.dispose()

    app = FastAPI(title="Hotline 12345", version="0.1.0", lifespan=lifespan)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", static, name="static")
    app.add_middleware(MaxBodySize, max_bytes=settings.max_upload_bytes)
    return app
