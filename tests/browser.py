"""Browser-test helpers: a real HTTP server for the app (uvicorn, loopback) and headless Chromium
(Debian's /usr/bin/chromium driven by Playwright; never a downloaded browser)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn

from app.settings import Settings
from tests.conftest import REPO, free_port

CHROMIUM = os.environ.get("HOTLINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
SCREENSHOTS = Path(os.environ.get("HOTLINE_ARTIFACTS", REPO / "test-artifacts"))


@asynccontextmanager
async def live_server(settings: Settings) -> AsyncIterator[tuple[Any, str]]:
    """Runs the app under uvicorn on 127.0.0.1:<free port> inside the test's event loop."""
    from app.main import create_app

    port = free_port()
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                           ws="auto"))
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield app, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """A headless Chromium browser (Playwright async API)."""
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):  # noqa: ASYNC240
        raise RuntimeError("chromium is not installed: run scripts/install-system-deps.sh")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def login_page(browser: Any, base_url: str, username: str, password: str = "correct-horse-42") -> Any:
    """A new page logged in through the real login form."""
    ctx = await browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = await ctx.new_page()
    await page.goto(f"{base_url}/login")
    await page.fill("#u", username)
    await page.fill("#p", password)
    await page.click("button[type=submit]")
    await page.wait_for_load_state("networkidle")
    return page


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
