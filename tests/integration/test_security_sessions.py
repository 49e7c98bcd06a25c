"""Issue 14, defects 1, 2, 5 and 9 replayed: open redirect after login, tokens in URLs and logs,
sessions that outlive logout / password change / disabling, WebSocket Origin and security headers."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
import websockets

from tests.browser import chromium, login_page
from tests.conftest import add_user, free_port, login, make_settings
from tests.integration.test_agents_desktop import recv_until, ws_auth


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@asynccontextmanager
async def logged_server(settings: Any) -> AsyncIterator[tuple[Any, str, Capture]]:
    """The app under uvicorn with access and connection logs on (as `hotline run` has them)."""
    from app.main import create_app

    port = free_port()
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info", access_log=True))
    cap = Capture()
    loggers = [logging.getLogger(n) for n in ("", "uvicorn", "uvicorn.access", "uvicorn.error")]
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    for lg in loggers:  # after uvicorn configured its loggers
        lg.addHandler(cap)
    try:
        yield app, f"http://127.0.0.1:{port}", cap
    finally:
        for lg in loggers:
            lg.removeHandler(cap)
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def test_login_never_redirects_off_site(tmp_path, sqlite_url):
    """Defect 1: /login?next=//example.invalid/phish must stay on this site after a login."""
    async with logged_server(make_settings(tmp_path, sqlite_url)) as (app, base, _):
        await add_user(app, "wang.sup", "supervisor", platform="kunming")
        async with chromium() as browser:
            for evil in ("//example.invalid/phish", "https://example.invalid/phish", "/\\example.invalid/x"):
                ctx = await browser.new_context(locale="zh-CN")
                page = await ctx.new_page()
                await page.goto(f"{base}/login?next={evil}")
                await page.fill("#u", "wang.sup")
                await page.fill("#p", "correct-horse-42")
                await page.click("button[type=submit]")
                await page.wait_for_url(f"{base}/ui/wallboard")  # the role's home, on this site
                await ctx.close()
            # a same-site path still follows
            ctx = await browser.new_context(locale="zh-CN")
            page = await ctx.new_page()
            await page.goto(f"{base}/login?next=/ui/office%3Fx%3D1")
            await page.fill("#u", "wang.sup")
            await page.fill("#p", "correct-horse-42")
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/ui/office?x=1")


async def test_token_is_never_in_a_url_or_a_log_line(tmp_path, sqlite_url):
    """Defect 2: pages open WebSockets without ?token=, REST refuses ?token=, and no log line
    (access log included) contains a session token, even when a client puts one into a URL."""
    async with logged_server(make_settings(tmp_path, sqlite_url)) as (app, base, cap):
        await add_user(app, "li.agent", "agent", platform="dali", sip_endpoint="agent-1001")
        async with chromium() as browser:
            ctx = await browser.new_context(locale="zh-CN")
            page = await ctx.new_page()
            sockets: list[str] = []
            page.on("websocket", lambda ws: sockets.append(ws.url))
            await page.goto(f"{base}/login?next=/ui/agent")
            await page.fill("#u", "li.agent")
            await page.fill("#p", "correct-horse-42")
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/ui/agent")
            await page.wait_for_function("() => document.getElementById('conn').textContent.includes('已连接')")
            cookie = next(c for c in await ctx.cookies() if c["name"] == "hotline_session")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            # the page's scripts cannot read the session at all
            assert "hotline_session" not in await page.evaluate("document.cookie")
            assert await page.evaluate("Object.keys(sessionStorage).length + Object.keys(localStorage).length") == 0
        assert sockets == [f"{base.replace('http', 'ws')}/ws/agent"]
        token = cookie["value"]

        async with httpx.AsyncClient(base_url=base) as c:
            r = await c.get("/api/auth/me", params={"token": token})
            assert r.status_code == 401  # a token in the URL is not a credential
            assert (await c.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})).status_code == 200
        # a WebSocket given ?token= only is not authenticated by it
        async with websockets.connect(f"{base.replace('http', 'ws')}/ws/agent?token={token}") as ws:
            await ws.send(json.dumps({"type": "hello"}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        # …but a first message carrying it is (for clients that cannot set a cookie or header)
        async with websockets.connect(f"{base.replace('http', 'ws')}/ws/agent") as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            assert (await recv_until(ws, "state"))["state"] == "logged_out"
        await asyncio.sleep(0.2)
        assert any("/api/auth/me" in line for line in cap.lines), cap.lines  # the access log was on
        leaks = [line for line in cap.lines if token in line or token[:20] in line]
        assert leaks == []


async def test_logout_password_change_and_disabling_end_sessions(tmp_path, sqlite_url):
    """Defect 5: a token stops working after logout, after a password change (every session of the
    user) and when an administrator disables the user — for REST and for WebSockets."""
    async with logged_server(make_settings(tmp_path, sqlite_url)) as (app, base, _):
        await add_user(app, "li.agent", "agent", platform="dali", sip_endpoint="agent-1001")
        await add_user(app, "root", "admin")
        async with httpx.AsyncClient(base_url=base) as c:
            h1 = await login(c, "li.agent")
            c.cookies.clear()
            assert (await c.post("/api/auth/logout", headers=h1)).status_code == 204
            r = await c.get("/api/auth/me", headers=h1)
            assert r.status_code == 401 and "请重新登录" in r.json()["detail"]

            a, b = await login(c, "li.agent"), await login(c, "li.agent")  # two browsers
            c.cookies.clear()
            r = await c.post(
                "/api/auth/password",
                json={"current_password": "correct-horse-42", "new_password": "battery-staple-9"},
                headers=a,
            )
            assert r.status_code == 200
            new = {"Authorization": f"Bearer {r.json()['token']}"}
            c.cookies.clear()
            assert (await c.get("/api/auth/me", headers=a)).status_code == 401
            assert (await c.get("/api/auth/me", headers=b)).status_code == 401
            assert (await c.get("/api/auth/me", headers=new)).status_code == 200
            r = await c.post("/api/auth/login", json={"username": "li.agent", "password": "correct-horse-42"})
            assert r.status_code == 401

            admin = await login(c, "root")
            c.cookies.clear()
            ws = await websockets.connect(f"{base.replace('http', 'ws')}/ws/agent", **ws_auth(new["Authorization"][7:]))
            await recv_until(ws, "state")
            r = await c.post("/api/admin/users/li.agent/disable", headers=admin)
            assert r.status_code == 200 and r.json()["active"] is False
            assert (await c.get("/api/auth/me", headers=new)).status_code == 401
            await ws.close()
            with pytest.raises(websockets.InvalidStatus):
                async with websockets.connect(f"{base.replace('http', 'ws')}/ws/agent", **ws_auth(new["Authorization"][7:])):
                    pass
            r = await c.post("/api/auth/login", json={"username": "li.agent", "password": "battery-staple-9"})
            assert r.status_code == 401


async def test_websocket_origin_is_checked(tmp_path, sqlite_url):
    """Defect 9: a page on another site cannot open a WebSocket riding on the user's cookie."""
    settings = make_settings(tmp_path, sqlite_url, allowed_origins=["https://wallboard.example.invalid"])
    async with logged_server(settings) as (app, base, _):
        await add_user(app, "dali.sup", "supervisor", platform="dali")
        async with httpx.AsyncClient(base_url=base) as c:
            t = (await login(c, "dali.sup"))["Authorization"][7:]
        ws_base = base.replace("http", "ws")
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(f"{ws_base}/ws/wallboard", origin="http://evil.invalid", **ws_auth(t)):
                pass
        assert refused.value.response.status_code == 403
        for origin in (base, "https://wallboard.example.invalid"):
            async with websockets.connect(f"{ws_base}/ws/wallboard", origin=origin, **ws_auth(t)) as ws:
                await recv_until(ws, "live")


async def test_pages_send_security_headers(tmp_path, sqlite_url):
    """Defect 9: CSP without 'unsafe-inline' scripts, no framing, no referrer, no sniffing; the pages
    still work under that policy (the login page logs in; the browser reports no CSP violation)."""
    async with logged_server(make_settings(tmp_path, sqlite_url)) as (app, base, _):
        await add_user(app, "root", "admin")
        async with httpx.AsyncClient(base_url=base) as c:
            for path in ("/login", "/ui/agent", "/ui/wallboard", "/ui/cases", "/ui/unit", "/ui/office",
                         "/ui/callbacks", "/ui/voicemail", "/ui/admin/users"):
                r = await c.get(path)
                assert r.status_code == 200, path
                csp = r.headers["content-security-policy"]
                script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
                assert "'unsafe-inline'" not in script_src and "'sha256-" in script_src, (path, csp)
                assert "frame-ancestors 'none'" in csp
                assert r.headers["x-frame-options"] == "DENY"
                assert r.headers["referrer-policy"] == "no-referrer"
                assert r.headers["x-content-type-options"] == "nosniff"
            r = await c.get("/health")
            assert r.headers["x-frame-options"] == "DENY" and "frame-ancestors" in r.headers["content-security-policy"]
        async with chromium() as browser:
            violations: list[str] = []
            page = await login_page(browser, base, "root")
            page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
            await page.goto(f"{base}/ui/admin/users")
            await page.wait_for_selector("tr[data-user=root]")
            # script injected into the page at run time does not run
            ran = await page.evaluate(
                "() => { const s = document.createElement('script'); s.textContent = 'window.__x = 1';"
                " document.body.appendChild(s); return window.__x === 1; }"
            )
            assert ran is False
            assert any("Content Security Policy" in v for v in violations)
