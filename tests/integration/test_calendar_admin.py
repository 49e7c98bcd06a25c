"""An administrator loads next year's holiday calendar: health stops warning, routing uses it."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime
from zoneinfo import ZoneInfo

import time_machine

from tests.conftest import REPO, add_user, login

# 2099: a year no library will know, so a chinese_calendar release (or 1 January 2028) changes nothing;
# the clock is pinned to a day of 2098, whose "next year" the administrator loads.
FILE_2099 = """year: 2099
source: test fixture (not a real notice)
holidays:
  - 2099-01-01
  - ["2099-02-09", "2099-02-13"]
workdays:
  - 2099-02-15
"""
IN_2098 = datetime(2098, 11, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


async def test_admin_uploads_next_years_calendar_and_health_stops_warning(app_client):
    app, client = app_client
    with time_machine.travel(IN_2098, tick=True):
        await _upload_and_check(app, client)


async def _upload_and_check(app, client) -> None:
    body = (await client.get("/health")).json()
    assert any("2099" in w for w in body["calendar"]["warnings"]), body
    await add_user(app, "root.admin", "admin")
    await add_user(app, "an.agent", "agent")
    # only an administrator may do it
    r = await client.post("/api/admin/calendar", content=FILE_2099, headers=await login(client, "an.agent"))
    assert r.status_code == 403
    h = await login(client, "root.admin")
    bad = await client.post(
        "/api/admin/calendar",
        content="year: 2099\nholidays: [not-a-date]\n",
        headers=h | {"Content-Type": "application/yaml"},
    )
    assert bad.status_code == 422 and "不被接受" in bad.json()["detail"]
    r = await client.post(
        "/api/admin/calendar", content=FILE_2099, headers=h | {"Content-Type": "application/yaml"}
    )
    assert r.status_code == 200, r.text
    assert 2099 in r.json()["covered_years"]
    body = (await client.get("/health")).json()
    assert not any("2099" in w for w in body["calendar"]["warnings"]), body
    assert any("2098" in w for w in body["calendar"]["warnings"])  # this year is still missing
    cal = app.state.runtime.config.calendar
    assert cal.is_workday(date(2099, 2, 9)) is False  # a holiday from the file (a Monday)
    assert cal.is_workday(date(2099, 2, 16)) is True  # an unlisted Monday
    assert cal.is_workday(date(2099, 2, 15)) is True  # a swapped working Sunday


def test_cli_calendar_load(tmp_path):
    f = tmp_path / "2099.yaml"
    f.write_text(FILE_2099, encoding="utf-8")
    env = {"HOTLINE_VAR_DIR": str(tmp_path / "var"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "calendar", "load", str(f)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "2099" in out.stdout
    show = subprocess.run(
        [sys.executable, "-m", "app.cli", "calendar", "show"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "2099" in show.stdout.splitlines()[0]
    bad = tmp_path / "2098.yaml"
    bad.write_text("year: 2098\nholidays: 7\n", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "calendar", "load", str(bad)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1 and "rejected" in out.stderr
