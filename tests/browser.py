"""Browser-test helpers: a real HTTP server for the app (uvicorn, loopback) and headless Chromium
(Debian's /usr/bin/chromium driven by Playwright; never a downloaded browser)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn

from app.settings import Settings
from tests.conftest import REPO, free_port

CHROMIUM = os.environ.get("HOTLINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
#: Playwright waits in tests: generous, because the machine is shared and loaded. A wait returns as soon
#: as its condition holds, so a long limit costs nothing when all is well; order and "before X"
#: properties are asserted explicitly, never through a short timeout.
PW_TIMEOUT_MS = 30_000
SCREENSHOTS = Path(os.environ.get("HOTLINE_ARTIFACTS", REPO / "test-artifacts"))


@asynccontextmanager
async def live_server(settings: Settings, port: int | None = None) -> AsyncIterator[tuple[Any, str]]:
    """Runs the app under uvicorn on 127.0.0.1:<port, else a free one> inside the test's event loop."""
    from app.main import create_app

    port = port or free_port()
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", ws="auto",
            timeout_graceful_shutdown=5,  # a page's socket still open must not hold the shutdown
        )  # fmt: skip
    )
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
        await asyncio.wait_for(task, 30)  # the app's own shutdown (leaders, AMI, bus) on a loaded machine


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """A headless Chromium browser (Playwright async API)."""
    from tests.resources import require

    require("chromium")  # missing: a failure, unless the developer opted out (tests/resources.py)
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def login_page(
    browser: Any,
    base_url: str,
    username: str,
    password: str = "correct-horse-42",
    ws_frames: list[str | bytes] | None = None,
) -> Any:
    """A new page (own browser context: own cookies) logged in through the real login form.
    ws_frames: every WebSocket frame the page receives is appended there, from the first one on."""
    ctx = await browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = await ctx.new_page()
    if ws_frames is not None:
        frames = ws_frames

        def on_frame(payload: str | bytes) -> None:
            frames.append(payload)

        page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    await page.goto(f"{base_url}/login")
    await page.fill("#u", username)
    await page.fill("#p", password)
    await page.click("button[type=submit]")
    # the page was already idle before the click: wait for the login's outcome (left the login page,
    # an error shown, or the change-password form) before anything else navigates
    await page.wait_for_function(
        "() => !location.pathname.startsWith('/login') || document.getElementById('err').textContent !== ''"
        " || !document.getElementById('change-card').hidden"
    )
    await page.wait_for_load_state("networkidle")
    return page


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


async def sign_in_agent(page: Any) -> None:
    """Click 签入 on the agent desktop once the page has loaded its queues, and wait until the
    desktop shows the agent available (the QueueMemberAdded event came back from Asterisk).
    On a timeout, say what the page showed (state, error line, connection) instead of only
    'selector not found'."""
    await page.wait_for_selector("#queues input:checked", timeout=PW_TIMEOUT_MS)
    await page.click("#login")
    try:
        await page.wait_for_selector("#state[data-state=available]", timeout=PW_TIMEOUT_MS)
    except Exception as e:
        shown = {sel: await page.text_content(sel) for sel in ("#state", "#err", "#conn", "#queues")}
        raise AssertionError(f"the desktop never showed 空闲 after 签入; it showed {shown}") from e
