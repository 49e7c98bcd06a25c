"""`hotline run --workers N` (N > 1, PostgreSQL): the backend as several processes, supervised here
(docs/adr/process-model.md; the production units run the same two commands):

- ``uvicorn app.main:worker_app --factory --workers N``: N HTTP workers on one port. Each keeps an
  AMI session for its actions; per Asterisk server one of them (the advisory-lock leader) consumes
  the events, and another takes over when it dies (uvicorn starts a new worker in its place).
- ``hotline agi`` × ``agi_processes`` (2 by default) on one port: FastAGI on event loops of their
  own; each restarted here when it dies. While one is down the other routes; with none, Asterisk's
  dialplan falls back to the default queue.

Migrations ran before, once, in this process. The children get the same configuration through the
environment; secrets stay in var/secrets (never in a child's command line)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from typing import Any

from app.settings import Settings, ensure_secret, read_secret

log = logging.getLogger(__name__)
RESTART_PAUSE_S = 1.0
# the FastAGI processes' priority, as deploy/systemd/hotline-agi@.service gives it (Nice=-5): a routing
# request is answered before HTTP, the AMI consumer and whatever else wants the CPU (Asterisk gives up
# on FastAGI after 2 s). Lowering a nice value needs privilege; without it they run at the default.
AGI_NICE = -5


def child_env(settings: Settings) -> dict[str, str]:
    servers = []
    for server in settings.asterisk:
        d = server.model_dump(mode="json")
        for key, name in (("ami_secret", "ami_secret"), ("agi_secret", "agi_secret")):
            if d[key] and d[key] == read_secret(settings.var_dir, f"{name}_{server.name}"):
                d[key] = ""  # the child reads it from var/secrets itself
        servers.append(d)
    return {
        **os.environ,
        "HOTLINE_ASTERISK": json.dumps(servers),
        # the children read the secrets (and write) where this process does, whatever their working
        # directory and wherever Python finds the app package from there
        "HOTLINE_VAR_DIR": str(settings.var_dir.resolve()),
        "HOTLINE_AGI_ENABLED": "false",  # the HTTP workers; `hotline agi` serves FastAGI
        "HOTLINE_AUTO_MIGRATE": "false",  # done once, before
    }


def http_command(settings: Settings, workers: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "app.main:worker_app", "--factory",
        "--workers", str(workers), "--host", settings.http_host, "--port", str(settings.http_port),
        "--no-access-log",  # app.observability.logging writes the access lines
    ]  # fmt: skip


def serve_http(settings: Settings, workers: int) -> int:
    """`hotline http --workers N` (the production unit): this process becomes uvicorn's supervisor
    of N HTTP workers. FastAGI runs in `hotline agi` beside it; migrations ran before (`hotline
    migrate`, or the first worker's advisory-locked auto-migration)."""
    from app.pg import is_pg

    if not is_pg(settings.database_url):
        print("hotline http: needs PostgreSQL (on SQLite, `hotline run` serves everything)", file=sys.stderr)
        return 2
    if workers < 1:
        print("hotline http: --workers must be 1 or more", file=sys.stderr)
        return 2
    # every worker must sign and check sessions with the same secret: the configured one, else one
    # generated once into var/secrets (each worker would otherwise make up its own)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    ensure_secret(settings.var_dir, "session_secret")
    env = child_env(settings)
    env.pop("HOTLINE_AUTO_MIGRATE")  # the unit's own setting decides (the lock makes it safe)
    os.execve(sys.executable, http_command(settings, workers), env)
    return 0  # not reached


def agi_command() -> list[str]:
    return [sys.executable, "-m", "app.cli", "agi"]


class Supervisor:
    """Starts the children, restarts a FastAGI process when it dies, stops all on SIGTERM/SIGINT
    (each by its own PID)."""

    def __init__(self, settings: Settings, workers: int) -> None:
        self.env = child_env(settings)
        self.http_cmd = http_command(settings, workers)
        self.http: subprocess.Popen[Any] | None = None
        self.agi: list[subprocess.Popen[Any]] = []
        self.agi_count = settings.agi_processes
        self.stopping = False
        self.agi_restarts = 0

    def _spawn(self, cmd: list[str]) -> subprocess.Popen[Any]:
        return subprocess.Popen(cmd, env=self.env)

    def _spawn_agi(self) -> subprocess.Popen[Any]:
        proc = self._spawn(agi_command())
        try:
            os.setpriority(os.PRIO_PROCESS, proc.pid, AGI_NICE)
        except OSError as e:  # not privileged: the production unit sets it (Nice=-5)
            log.info("FastAGI process %d keeps the default priority (nice %d refused: %s)", proc.pid, AGI_NICE, e)
        return proc

    def run(self) -> int:
        def _stop(_signum: int, _frame: object) -> None:
            self.stopping = True

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        self.agi = [self._spawn_agi() for _ in range(self.agi_count)]
        self.http = self._spawn(self.http_cmd)
        agi = ", ".join(f"agi pid {p.pid}" for p in self.agi)
        print(f"  processes http pid {self.http.pid} (uvicorn, workers), {agi}", flush=True)
        code = 0
        while not self.stopping:
            time.sleep(0.2)
            if self.http.poll() is not None:
                log.error("the HTTP workers' supervisor (uvicorn) exited with %s", self.http.returncode)
                code = 1
                break
            for i, proc in enumerate(self.agi):
                if proc.poll() is None:
                    continue
                self.agi_restarts += 1
                log.error(
                    "FastAGI process %d exited with %s; starting another (#%d)",
                    proc.pid, proc.returncode, self.agi_restarts,
                )  # fmt: skip
                time.sleep(RESTART_PAUSE_S)
                self.agi[i] = self._spawn_agi()
                print(f"  processes agi pid {self.agi[i].pid} (restarted)", flush=True)
        self.stop()
        return code

    def stop(self) -> None:
        children = [p for p in (self.http, *self.agi) if p is not None]
        for proc in children:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in children:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
