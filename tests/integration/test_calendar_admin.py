"""An administrator loads next year's holiday calendar: health stops warning, routing uses it."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO, add_user, login

FILE_2027 = """year: 2027
source: test fixture (not the real 2027 notice)
holidays:
  - 2027-01-01
  - ["2027-02-06", "2027-02-12"]
workdays:
  - 2027-02-14
"""


async def test_admin_uploads_2027_calendar_and_health_stops_warning(app_client):
    app, client = app_client
    body = (await client.get("/health")).json()
    assert any("2027" in w for w in body["calendar"]["warnings"])
    await add_user(app, "root.admin", "admin")
    await add_user(app, "an.agent", "agent")
    # only an administrator may do it
    r = await client.post("/api/admin/calendar", content=FILE_2027, headers=await login(client, "an.agent"))
    assert r.status_code == 403
    h = await login(client, "root.admin")
    bad = await client.post(
        "/api/admin/calendar",
        content="year: 2027\nholidays: [not-a-date]\n",
        headers=h | {"Content-Type": "application/yaml"},
    )
    assert bad.status_code == 422 and "rejected" in bad.json()["detail"]
    r = await client.post(
        "/api/admin/calendar", content=FILE_2027, headers=h | {"Content-Type": "application/yaml"}
    )
    assert r.status_code == 200, r.text
    assert 2027 in r.json()["covered_years"]
    body = (await client.get("/health")).json()
    assert not any("2027" in w for w in body["calendar"]["warnings"])
    cal = app.state.runtime.config.calendar
    from datetime import date

    assert cal.is_workday(date(2027, 2, 8)) is False  # a holiday from the file (a Monday)
    assert cal.is_workday(date(2027, 2, 14)) is True  # a swapped working Sunday


def test_cli_calendar_load(tmp_path):
    f = tmp_path / "2027.yaml"
    f.write_text(FILE_2027, encoding="utf-8")
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
    assert "2027" in out.stdout
    show = subprocess.run(
        [sys.executable, "-m", "app.cli", "calendar", "show"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "2027" in show.stdout.splitlines()[0]
    bad = tmp_path / "2028.yaml"
    bad.write_text("year: 2028\nholidays: 7\n", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "calendar", "load", str(bad)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1 and "rejected" in out.stderr
