"""Issue 14, defect 10 replayed: the CLI accepted unknown platforms and units, took passwords on the
command line, printed tracebacks for a short password or a missing file, and a user created without
--platform silently saw every platform. Also user administration from the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def hotline(tmp_path: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    e.update({"HOTLINE_VAR_DIR": str(tmp_path / "var"), "HOTLINE_AMI_ENABLED": "false"}, **(env or {}))
    return subprocess.run([sys.executable, "-m", "app.cli", *args], input=stdin, capture_output=True, text=True,
                          cwd=REPO, env=e, timeout=120, stdin=None if stdin is not None else subprocess.DEVNULL)


def refused(r: subprocess.CompletedProcess[str], text: str) -> None:
    assert r.returncode != 0, r.stdout
    assert text in r.stderr, r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_cli_refuses_bad_input_clearly(tmp_path):
    pw = "long-enough-pw-1\n"
    refused(hotline(tmp_path, "user", "create", "a1", "--role", "agent", "--platform", "nosuch", "--password-stdin",
                    stdin=pw), "unknown platform 'nosuch'")
    refused(hotline(tmp_path, "user", "create", "u1", "--role", "unit", "--platform", "kunming", "--unit", "nosuch",
                    "--password-stdin", stdin=pw), "unknown unit 'nosuch'")
    # the password is never an argument
    refused(hotline(tmp_path, "user", "create", "a1", "--role", "agent", "--platform", "dali", "--password", "secret-123"),
            "unrecognized arguments")
    refused(hotline(tmp_path, "user", "create", "a1", "--role", "agent", "--platform", "dali", "--password-stdin",
                    stdin="short\n"), "password too short")
    refused(hotline(tmp_path, "user", "create", "a1", "--role", "agent", "--platform", "dali"), "no password given")
    # no silent province-wide scope
    refused(hotline(tmp_path, "user", "create", "a1", "--role", "agent", "--password-stdin", stdin=pw),
            "--platform CODE is required")
    refused(hotline(tmp_path, "user", "create", "a1", "--role", "agent", "--all-platforms", "--password-stdin",
                    stdin=pw), "--all-platforms is for supervisors and administrators")
    refused(hotline(tmp_path, "calendar", "load", str(tmp_path / "missing.yaml")), "no such file")
    refused(hotline(tmp_path, "user", "disable", "nobody"), "no user 'nobody'")


def test_cli_user_administration(tmp_path):
    r = hotline(tmp_path, "user", "create", "dl.agent", "--role", "agent", "--platform", "dali", "--password-stdin",
                stdin="dali-agent-pass-1\n")
    assert r.returncode == 0 and "created agent dl.agent (platform dali)" in r.stdout, r.stderr
    r = hotline(tmp_path, "user", "create", "root", "--role", "admin", "--all-platforms",
                env={"HOTLINE_NEW_PASSWORD": "root-admin-pass-1"})
    assert r.returncode == 0 and "(every platform)" in r.stdout, r.stderr
    refused(hotline(tmp_path, "user", "disable", "root"), "last active administrator")
    r = hotline(tmp_path, "user", "reset-password", "dl.agent", "--password-stdin", stdin="new-temp-pass-2\n")
    assert r.returncode == 0 and "must be changed at next login" in r.stdout
    assert hotline(tmp_path, "user", "disable", "dl.agent").returncode == 0
    r = hotline(tmp_path, "user", "list")
    assert r.returncode == 0
    line = next(x for x in r.stdout.splitlines() if x.startswith("dl.agent"))
    assert "dali" in line and "disabled" in line and "must change password" in line
    assert "pass" not in r.stdout.replace("password", "")  # no password ever printed
