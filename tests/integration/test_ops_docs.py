"""API docs work offline: /docs (Swagger UI) and /redoc render in headless Chromium with every asset
served by the app itself — the test records each request the page makes and finds none off-host."""

from __future__ import annotations

import subprocess
import sys

from tests.browser import chromium, live_server, screenshot_path
from tests.conftest import make_settings


async def _visit(browser, base: str, path: str, ready: str):
    ctx = await browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = await ctx.new_page()
    seen: list[str] = []
    page.on("request", lambda req: seen.append(req.url))
    await page.goto(f"{base}{path}")
    await page.wait_for_selector(ready, timeout=20000)
    await page.wait_for_load_state("networkidle")
    return page, seen


def _off_host(urls: list[str], base: str) -> list[str]:
    """Requests that left the app: anything but the app's origin, inline data, or the page's own
    blob: workers (ReDoc starts one from a same-origin blob)."""
    own = (base + "/", f"blob:{base}/", "data:", "about:")
    return [u for u in urls if not u.startswith(own)]


async def test_docs_and_redoc_render_without_external_requests(tmp_path, sqlite_url):
    async with live_server(make_settings(tmp_path, sqlite_url)) as (_app, base):
        async with chromium() as browser:
            page, seen = await _visit(browser, base, "/docs", ".swagger-ui .opblock")
            # the operations of the real schema are listed, e.g. the case API and health
            text = await page.inner_text(".swagger-ui")
            assert "/health" in text and "/api/cases" in text
            assert "Hotline 12345" in text
            await page.screenshot(path=str(screenshot_path("api-docs")))
            external = _off_host(seen, base)
            assert external == [], external
            assert any(u.endswith("swagger-ui-bundle.js") for u in seen)

            page, seen = await _visit(browser, base, "/redoc", "[role=navigation], .menu-content")
            assert "/api/cases" in await page.inner_text("body")
            external = _off_host(seen, base)
            assert external == [], external


def test_version_flag():
    from app.ops import hotline_version

    out = subprocess.run([sys.executable, "-m", "app.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout.strip() == f"hotline {hotline_version()}"
    assert hotline_version()[0].isdigit()
