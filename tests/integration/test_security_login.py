"""Issue 14, defect 3 replayed (login throttling per account and per address) and user administration:
list, disable, reset password, forced change at first login — API and the administrators' page."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from tests.browser import chromium, live_server
from tests.conftest import add_user, login, make_settings, running_app


async def test_wrong_passwords_are_throttled_per_account_and_per_address(tmp_path, sqlite_url):
    settings = make_settings(tmp_path, sqlite_url, login_account_free_failures=5, login_address_free_failures=12)
    async with running_app(settings) as (app, client):
        await add_user(app, "li.agent", "agent", platform="dali")
        codes = []
        for _ in range(8):
            r = await client.post("/api/auth/login", json={"username": "li.agent", "password": "guess"})
            codes.append(r.status_code)
        assert codes[:5] == [401] * 5 and codes[5:] == [429] * 3, codes
        r = await client.post("/api/auth/login", json={"username": "li.agent", "password": "correct-horse-42"})
        assert r.status_code == 429  # locked: even the right password waits
        assert int(r.headers["Retry-After"]) >= 1 and "try again in" in r.json()["detail"]
        # another account from the same address still works, until the address has failed too often
        await add_user(app, "he.agent", "agent", platform="dali")
        assert (await client.post("/api/auth/login", json={"username": "he.agent", "password": "correct-horse-42"})).status_code == 200
        codes = [
            (await client.post("/api/auth/login", json={"username": f"nobody{i}", "password": "x"})).status_code
            for i in range(8)
        ]
        assert 429 in codes, codes
        r = await client.post("/api/auth/login", json={"username": "he.agent", "password": "correct-horse-42"})
        assert r.status_code == 429 and "Retry-After" in r.headers


async def test_lockout_expires_and_success_clears_the_account(tmp_path, sqlite_url):
    settings = make_settings(tmp_path, sqlite_url)
    async with running_app(settings) as (app, client):
        now = [1000.0]
        app.state.runtime.throttle.clock = lambda: now[0]
        await add_user(app, "li.agent", "agent", platform="dali")
        for _ in range(6):
            await client.post("/api/auth/login", json={"username": "li.agent", "password": "guess"})
        r = await client.post("/api/auth/login", json={"username": "li.agent", "password": "correct-horse-42"})
        assert r.status_code == 429
        now[0] += int(r.headers["Retry-After"]) + 1
        r = await client.post("/api/auth/login", json={"username": "li.agent", "password": "correct-horse-42"})
        assert r.status_code == 200
        r = await client.post("/api/auth/login", json={"username": "li.agent", "password": "guess"})
        assert r.status_code == 401  # the success cleared the account's count


async def test_user_administration_api(tmp_path, db_url):
    async with running_app(make_settings(tmp_path, db_url)) as (app, client):
        await add_user(app, "root", "admin")
        await add_user(app, "km.sup", "supervisor", platform="kunming")
        admin = await login(client, "root")
        sup = await login(client, "km.sup")
        client.cookies.clear()
        for method, path in (("GET", "/api/admin/users"), ("POST", "/api/admin/users/root/disable"),
                             ("POST", "/api/admin/users/root/enable")):
            assert (await client.request(method, path, headers=sup)).status_code == 403
        r = await client.post("/api/admin/users/root/password", json={"password": "x" * 12}, headers=sup)
        assert r.status_code == 403

        body = {"username": "new.agent", "password": "first-pass-1", "role": "agent"}
        r = await client.post("/api/auth/users", json=body, headers=admin)
        assert r.status_code == 422  # the platform must be explicit
        r = await client.post("/api/auth/users", json=body | {"platform": "nosuch"}, headers=admin)
        assert r.status_code == 422 and "未知平台" in r.json()["detail"]
        r = await client.post("/api/auth/users", json=body | {"platform": "dali", "display_name": "长" * 129}, headers=admin)
        assert r.status_code == 422
        r = await client.post("/api/auth/users", json=body | {"platform": "dali"}, headers=admin)
        assert r.status_code == 201 and r.json()["must_change_password"] is True
        r = await client.post("/api/auth/users", json={**body, "role": "unit", "username": "u1", "platform": "dali",
                                                        "unit_code": "nosuch"}, headers=admin)
        assert r.status_code == 422 and "未知单位" in r.json()["detail"]

        users = (await client.get("/api/admin/users", headers=admin)).json()
        assert [u["username"] for u in users] == ["km.sup", "new.agent", "root"]
        assert (await client.get("/api/admin/users", params={"limit": -1}, headers=admin)).status_code == 422

        # first login: only the password change is allowed
        r = await client.post("/api/auth/login", json={"username": "new.agent", "password": "first-pass-1"})
        assert r.status_code == 200 and r.json()["user"]["must_change_password"] is True
        first = {"Authorization": f"Bearer {r.json()['token']}"}
        client.cookies.clear()
        r = await client.get("/api/calls", headers=first)
        assert r.status_code == 403 and "需要先修改密码" in r.json()["detail"]
        assert r.headers["X-Hotline-Password-Change"] == "required"  # what the pages act on
        r = await client.post("/api/auth/password", json={"current_password": "first-pass-1",
                                                           "new_password": "short"}, headers=first)
        assert r.status_code == 422
        r = await client.post("/api/auth/password", json={"current_password": "first-pass-1",
                                                           "new_password": "my-own-secret-7"}, headers=first)
        assert r.status_code == 200 and r.json()["user"]["must_change_password"] is False
        mine = {"Authorization": f"Bearer {r.json()['token']}"}
        client.cookies.clear()
        assert (await client.get("/api/calls", headers=mine)).status_code == 200

        # reset by the administrator: sessions end, the user must change again
        r = await client.post("/api/admin/users/new.agent/password", json={"password": "temp-pass-42"}, headers=admin)
        assert r.status_code == 200 and r.json()["must_change_password"] is True
        assert (await client.get("/api/calls", headers=mine)).status_code == 401
        # disabling: no login, no session; the last administrator cannot disable themselves
        assert (await client.post("/api/admin/users/new.agent/disable", headers=admin)).json()["active"] is False
        r = await client.post("/api/auth/login", json={"username": "new.agent", "password": "temp-pass-42"})
        assert r.status_code == 401
        assert (await client.post("/api/admin/users/root/disable", headers=admin)).status_code == 409
        assert (await client.post("/api/admin/users/nosuch/disable", headers=admin)).status_code == 404
        assert (await client.post("/api/admin/users/new.agent/enable", headers=admin)).json()["active"] is True


async def test_admin_page_creates_user_who_must_change_password(tmp_path, sqlite_url):
    async with live_server(make_settings(tmp_path, sqlite_url)) as (app, base):
        await add_user(app, "root", "admin")
        async with chromium() as browser:
            ctx = await browser.new_context(locale="zh-CN")
            page = await ctx.new_page()
            await page.goto(f"{base}/login?next=/ui/admin/users")
            await page.fill("#u", "root")
            await page.fill("#p", "correct-horse-42")
            await page.click("button[type=submit]")
            await page.wait_for_selector("tr[data-user=root]")
            await page.fill("#c_user", "zhang.agent")
            await page.fill("#c_name", "张坐席")
            await page.fill("#c_platform", "dali")
            await page.fill("#c_pw", "initial-pass-1")
            await page.click("#create button[type=submit]")
            await page.wait_for_selector("tr[data-user='zhang.agent']")
            assert "待改密" in await page.text_content("tr[data-user='zhang.agent']")
            await page.click("tr[data-user='zhang.agent'] button[data-act=disable]")
            await page.wait_for_selector("tr[data-user='zhang.agent'] button[data-act=enable]")
            assert "已停用" in await page.text_content("tr[data-user='zhang.agent']")
            await page.click("tr[data-user='zhang.agent'] button[data-act=enable]")
            await page.wait_for_selector("tr[data-user='zhang.agent'] button[data-act=disable]")

            other = await (await browser.new_context(locale="zh-CN")).new_page()
            await other.goto(f"{base}/login")
            await other.fill("#u", "zhang.agent")
            await other.fill("#p", "initial-pass-1")
            await other.click("button[type=submit]")
            await other.wait_for_selector("#change-card:not([hidden])")
            # a page opened before the new password is chosen sends the user back to the form
            early = await other.context.new_page()
            await early.goto(f"{base}/ui/cases")
            await early.wait_for_url("**/login?change=1**")
            await early.wait_for_selector("#change-card:not([hidden])")
            await early.close()
            await other.fill("#np", "chosen-pass-99")
            await other.fill("#np2", "chosen-pass-99")
            await other.click("#cf button[type=submit]")
            await other.wait_for_url(f"{base}/ui/agent")
            await page.reload()
            await page.wait_for_selector("tr[data-user='zhang.agent']")
            assert "待改密" not in await page.text_content("tr[data-user='zhang.agent']")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_on_postgresql_every_worker_process_counts_the_same_failures(tmp_path, db_url):
    """Two services on one database stand for two worker processes: the guesses an attacker spreads
    over both lock the account on both, a success on one clears it for the other, and the table holds
    no user name or address in clear."""
    settings = make_settings(tmp_path, db_url, login_account_free_failures=4, login_address_free_failures=50)
    other = make_settings(tmp_path / "b", db_url, session_secret=settings.session_secret,
                          login_account_free_failures=4, login_address_free_failures=50)  # fmt: skip
    async with running_app(settings) as (app_a, a), running_app(other) as (app_b, b):
        await add_user(app_a, "li.agent", "agent", platform="dali")
        codes = []
        for i in range(6):
            c = (a, b)[i % 2]
            codes.append((await c.post("/api/auth/login", json={"username": "LI.agent", "password": "guess"})).status_code)
        assert codes[:4] == [401] * 4 and codes[4:] == [429, 429], codes  # per process it would be 6 x 401
        for c in (a, b):
            r = await c.post("/api/auth/login", json={"username": "li.agent", "password": "correct-horse-42"})
            assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        async with app_a.state.runtime.db.sessionmaker() as s:
            keys = list(await s.scalars(text("SELECT key FROM login_throttle")))
        assert keys and all(len(k) == 64 and "li" not in k.lower() for k in keys), keys

        # the lock passes (both processes read the same clock: the database's rows hold wall time)
        for rt in (app_a.state.runtime, app_b.state.runtime):
            rt.throttle.clock = lambda: time.time() + 3600
        r = await b.post("/api/auth/login", json={"username": "li.agent", "password": "correct-horse-42"})
        assert r.status_code == 200, r.text
        r = await a.post("/api/auth/login", json={"username": "li.agent", "password": "guess"})
        assert r.status_code == 401  # B's success cleared the account for A too: one failure, no lock
