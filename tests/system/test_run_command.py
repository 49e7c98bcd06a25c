"""The newcomer's command: `hotline run` starts the sandbox Asterisk and the backend, a simulated
call goes through, and stopping it (SIGTERM) stops Asterisk too, by its PID."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

from tests.conftest import REPO, free_port
from tests.waiting import wait_until_sync


def test_hotline_run_then_call_then_stop(tmp_path):
    ami, agi, http, sip = free_port(), free_port(), free_port(), free_port(socket.SOCK_DGRAM)
    env = {
        **os.environ,
        "HOTLINE_VAR_DIR": str(tmp_path / "var"),
        "HOTLINE_HTTP_PORT": str(http),
        "HOTLINE_AGI_PORT": str(agi),
        "HOTLINE_SIP_PORT": str(sip),
        "HOTLINE_ASTERISK": json.dumps([{"ami_port": ami}]),
        "HOTLINE_ADMIN_PASSWORD": "first-admin-pw",
        "HOTLINE_SIP_AGENTS": json.dumps([{"endpoint": "agent-2001", "password": "softphone-2001-pw"}]),
    }
    log = open(tmp_path / "run.log", "w+")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "run"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        text = ""
        while "Application startup complete" not in text:
            assert proc.poll() is None, text
            assert time.monotonic() < deadline, text
            time.sleep(0.2)
            text = (tmp_path / "run.log").read_text()
        assert f"http://127.0.0.1:{http}/" in text and "admin" in text
        pid = int(re.search(r"Asterisk  pid (\d+)", text).group(1))  # type: ignore[union-attr]
        os.kill(pid, 0)  # running
        out = subprocess.run(
            [sys.executable, "-m", "app.cli", "call", "--from", "13987112345", "--json"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        body = json.loads(out.stdout)
        # Kunming is staffed 7x24 in the shipped config, but nobody is logged in: 多援一, the province answers
        assert (body["prefecture"], body["platform"], body["route"], body["queue"]) == (
            "kunming",
            "kunming",
            "queue",
            "q-province",
        )
        # the configured softphone account exists on the sandbox Asterisk
        conf = tmp_path / "var" / "asterisk" / "etc" / "asterisk.conf"
        eps = subprocess.run(
            ["asterisk", "-C", str(conf), "-rx", "pjsip show endpoints"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
        assert "agent-2001" in eps
        assert "softphone-2001-pw" not in text  # the secret is not printed
        health = subprocess.run(
            ["curl", "-s", f"http://127.0.0.1:{http}/health"], capture_output=True, text=True, timeout=10
        )
        assert json.loads(health.stdout)["ami"]["main"]["connected"] is True
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        log.close()

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_until_sync(gone, 30, f"the sandbox Asterisk (pid {pid}) to stop after `hotline run` stopped")
