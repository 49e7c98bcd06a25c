"""A private Asterisk on loopback for `hotline run` and the tests: started as our child process,
stopped by its own PID. Never touches /etc/asterisk or a system Asterisk."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from asterisk_conf.render import RenderParams, render
from callflow import HotlineConfig

log = logging.getLogger(__name__)


class SandboxError(RuntimeError):
    pass


def asterisk_binary() -> str:
    path = shutil.which("asterisk") or ("/usr/sbin/asterisk" if Path("/usr/sbin/asterisk").exists() else None)
    if not path:
        raise SandboxError("asterisk is not installed: run scripts/install-system-deps.sh (Debian 12/13)")
    return path


def check_no_dns_leak(hosts: Path = Path("/etc/hosts")) -> None:
    """res_pjsip looks up our own hostname at load; without an IPv6 /etc/hosts entry for it that
    becomes a DNS query off the machine. Refuse to start rather than send it."""
    name = socket.gethostname()
    lines = hosts.read_text(encoding="utf-8", errors="replace").splitlines() if hosts.exists() else []
    v6 = v4 = False
    for line in lines:
        parts = line.split("#", 1)[0].split()
        if len(parts) >= 2 and name in parts[1:]:
            v6 = v6 or ":" in parts[0]
            v4 = v4 or "." in parts[0]
    if not (v6 and v4):
        raise SandboxError(
            f"/etc/hosts lacks {'an IPv6' if not v6 else 'an IPv4'} entry for this host ({name}); Asterisk would "
            "send a DNS query at start-up. Run scripts/install-system-deps.sh (it adds '::1 <hostname>')."
        )


def _pdeathsig_safe() -> bool:
    return sys.platform.startswith("linux") and threading.current_thread() is threading.main_thread()


def _die_with_parent() -> None:
    """In the child before exec: Linux sends SIGTERM to Asterisk when the process that started it
    dies, so a killed test run or backend never leaves a sandbox Asterisk behind."""
    os.umask(0o077)  # recordings and spool files Asterisk writes are private to this user
    try:
        import ctypes
        import signal as _signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, int(_signal.SIGTERM))  # PR_SET_PDEATHSIG
    except OSError:
        pass


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class Sandbox:
    def __init__(self, cfg: HotlineConfig, params: RenderParams) -> None:
        self.cfg = cfg
        self.params = params
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf: Path | None = None

    @classmethod
    def on_loopback(cls, cfg: HotlineConfig, base_dir: Path, **overrides: Any) -> Sandbox:
        """A sandbox on free loopback ports with a fresh AMI secret and FastAGI key (tests, benchmarks); any
        RenderParams field may be overridden."""
        params = RenderParams(
            base_dir=base_dir, ami_port=free_port(), agi_port=free_port(),
            sip_port=free_port(kind=socket.SOCK_DGRAM), ami_secret=secrets.token_hex(16),
            agi_secret=secrets.token_hex(16),
        )  # fmt: skip
        for key, value in overrides.items():
            setattr(params, key, value)
        return cls(cfg, params)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def cli(self, command: str, timeout: float = 10.0) -> str:
        assert self.conf is not None
        res = subprocess.run(
            [asterisk_binary(), "-C", str(self.conf), "-rx", command],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if res.returncode != 0:
            raise SandboxError(f"asterisk -rx {command!r}: {res.stderr.strip() or res.stdout.strip()}")
        return res.stdout

    def render(self) -> Path:
        self.conf = render(self.cfg, self.params)
        return self.conf

    def start(self, timeout: float = 20.0, *, realtime: bool = False) -> None:
        """``realtime``: Asterisk's ``-p``, as Debian's asterisk.service runs it in production (real-time
        scheduling where the user may; benchmarks of call set-up)."""
        check_no_dns_leak()
        binary = asterisk_binary()
        self.render()
        logf = open(self.params.base_dir / "log" / "console.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [binary, "-C", str(self.conf), "-f", "-n", "-q", *(["-p"] if realtime else [])],
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "LANG": "C.UTF-8"},
            # PR_SET_PDEATHSIG fires when the *thread* that forked exits, not the process: from a worker
            # thread (asyncio.to_thread, whose executor ends with the test's event loop) it would kill
            # Asterisk right after a restart. Only the main thread arms it; stop() still ends it by PID.
            preexec_fn=_die_with_parent if _pdeathsig_safe() else None,
        )
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SandboxError(
                    f"asterisk exited with {self.proc.returncode}; see {self.params.base_dir}/log"
                )
            try:
                self.cli("core waitfullybooted", timeout=5)
                log.info("sandbox Asterisk up (pid %d) in %s", self.proc.pid, self.params.base_dir)
                return
            except (SandboxError, subprocess.TimeoutExpired):
                time.sleep(0.05)
        self.stop()
        raise SandboxError("asterisk did not finish booting in time")

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            self.cli("core stop now", timeout=5)
        except (SandboxError, subprocess.TimeoutExpired):
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def pair_queues(cfg: HotlineConfig) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The queues of a prefectures' server and of the province's server: each only its platforms'."""
    province = cfg.province_platform.code
    pref = tuple(q for p in cfg.platforms if p.code != province for q in p.queues)
    return pref, tuple(cfg.province_platform.queues)


def trunked_pair(
    cfg: HotlineConfig, base: Path, names: tuple[str, str] = ("prefecture", "province"), **overrides: Any
) -> tuple[Sandbox, Sandbox]:
    """Two sandboxes on loopback joined by an IAX2 trunk: each knows the other as an IAX2 peer named
    after the other's server name (a transfer dials IAX2/<server name>/...), with one shared secret;
    uniqueids are prefixed by the server name so the two servers' call ids never collide. The first
    holds the prefectures' queues, the second the province's (pair_queues), as real servers would.
    ``overrides`` may give per-server RenderParams as dicts under the server names."""
    from asterisk_conf.render import IaxPeer

    ports = {n: free_port(kind=socket.SOCK_DGRAM) for n in names}
    held = dict(zip(names, pair_queues(cfg), strict=True))
    secret = secrets.token_hex(16)
    out = []
    for i, name in enumerate(names):
        other = names[1 - i]
        own = {"queues": held[name], **overrides.get(name, {})}
        (base / name).mkdir(parents=True, exist_ok=True)
        sb = Sandbox.on_loopback(
            cfg, base / name, server_name=name, system_name=name, iax_port=ports[name],
            iax_peers=[IaxPeer(name=other, port=ports[other], secret=secret, username=name)], **own,
        )  # fmt: skip
        out.append(sb)
    return out[0], out[1]
