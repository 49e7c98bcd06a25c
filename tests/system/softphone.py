"""A real SIP user agent (Debian's baresip) registered as an agent's phone, on 127.0.0.1 only.

Auto-answers, after `answer_after` seconds (0 = at once): baresip's own answermode=auto has no delay,
so the phone rings in manual mode and this helper, listening to baresip's ctrl_tcp events, sends
`accept` when the delay has passed, like an agent who reads the screen-pop before picking up. Its
microphone is a WAV file of silence (baresip hangs up when its source ends). Started as our child
process with its own config dir, stopped by its PID."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import wave
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from app.telephony.lifecycle import TELEPHONY

BARESIP = shutil.which("baresip") or "/usr/bin/baresip"


def _free(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_sip_port() -> int:
    """A port free for baresip's UDP and TCP SIP transports and the TLS one above it (a port free for
    UDP only was taken on TCP now and then: 'SIP/TLS transport failed: Address already in use')."""
    for _ in range(50):
        port = _free(socket.SOCK_DGRAM)
        try:
            for kind, p in (
                (socket.SOCK_STREAM, port),
                (socket.SOCK_STREAM, port + 1),
                (socket.SOCK_DGRAM, port + 1),
            ):
                with socket.socket(socket.AF_INET, kind) as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return port
    raise RuntimeError("no free SIP port pair on 127.0.0.1")


def silence_wav(path: Path, seconds: int = 600) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 8000 * seconds)
    return path


class Softphone:
    def __init__(
        self,
        base: Path,
        endpoint: str,
        password: str,
        sip_port: int,
        *,
        local_port: int,
        ctrl_port: int,
        answer_after: float | None = 0.0,
        mic: Path | None = None,
        record_received: bool = False,
    ) -> None:
        """answer_after: seconds before answering an incoming call; None = never answer. mic: a WAV
        (8 kHz mono 16-bit, longer than the call) it sends instead of silence. record_received: keep
        what the phone RECEIVES (decoded) in dump-*-dec.wav (baresip 1.0's aufile cannot play into a
        file; its sndfile filter writes each call's decoded audio)."""
        self.dir = base / f"baresip-{endpoint}"
        self.endpoint, self.password, self.sip_port = endpoint, password, sip_port
        self.local_port, self.ctrl_port = local_port, ctrl_port
        self.answer_after = answer_after
        self.mic, self.record_received = mic, record_received
        self.proc: subprocess.Popen[bytes] | None = None
        self.events: list[dict[str, object]] = []
        self._ctrl: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def write_config(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        audio = self.mic or silence_wav(self.dir / "mic.wav")
        dump = f"module sndfile.so\nsnd_path {self.dir}\n" if self.record_received else ""
        (self.dir / "config").write_text(
            f"""poll_method epoll
sip_listen 127.0.0.1:{self.local_port}
net_interface 127.0.0.1
call_local_timeout 120
call_max_calls 4
audio_player aufile,{self.dir / "speaker.wav"}
audio_source aufile,{audio}
audio_alert aufile,{self.dir / "alert.wav"}
audio_level no
rtp_tos 0
rtcp_mux no
jitter_buffer_delay 1-10
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
{dump}module_tmp uuid.so
module_tmp account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}
""",
            encoding="utf-8",
        )
        (self.dir / "accounts").write_text(
            f"<sip:{self.endpoint}@127.0.0.1:{self.sip_port};transport=udp>;auth_pass={self.password};"
            f"answermode=manual;regint=600;audio_codecs=PCMU,PCMA\n",
            encoding="utf-8",
        )
        (self.dir / "contacts").write_text("", encoding="utf-8")

    def start(self) -> None:
        from tests.resources import require

        require("baresip")  # missing: a failure, unless the developer opted out (tests/resources.py)
        self.write_config()
        self.log = open(self.dir / "baresip.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [BARESIP, "-f", str(self.dir)],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=self.dir,
            start_new_session=True,
            env={**os.environ, "HOME": str(self.dir)},
        )
        self._connect_ctrl()

    def _connect_ctrl(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._ctrl = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._ctrl.settimeout(0.2)
        self._thread = threading.Thread(target=self._events, daemon=True)
        self._thread.start()

    def command(self, command: str, params: str = "") -> None:
        body = json.dumps({"command": command, "params": params, "token": command}).encode()
        assert self._ctrl is not None
        self._ctrl.sendall(str(len(body)).encode() + b":" + body + b",")

    def _events(self) -> None:
        buf = b""
        while not self._stop.is_set():
            try:
                chunk = self._ctrl.recv(65536) if self._ctrl else b""
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while b":" in buf:
                n, rest = buf.split(b":", 1)
                size = int(n)
                if len(rest) < size + 1:
                    break
                msg, buf = json.loads(rest[:size]), rest[size + 1 :]
                msg["received_at"] = time.perf_counter()  # when this process read it (benchmarks time rings)
                self.events.append(msg)
                if msg.get("type") == "CALL_INCOMING" and self.answer_after is not None:
                    threading.Timer(self.answer_after, self._accept).start()

    def _accept(self) -> None:
        if not self._stop.is_set():
            try:
                self.command("accept")
            except OSError:
                pass

    def received(self) -> list[Path]:
        """The decoded audio of each call so far (record_received), oldest first."""
        return sorted(self.dir.glob("dump-*-dec.wav"))

    def closed_calls(self) -> int:
        return sum(1 for e in self.events if e.get("type") == "CALL_CLOSED")

    def wait_registered(self, cli: object, timeout: float = 10.0) -> None:
        """cli: a callable running an Asterisk CLI command (Sandbox.cli)."""
        deadline = time.monotonic() + timeout
        out = ""
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"baresip exited: {(self.dir / 'baresip.log').read_text(errors='replace')}"
                )
            out = cli("pjsip show contacts")  # type: ignore[operator]
            if f"{self.endpoint}/sip:" in out:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.endpoint} did not register: {out}")

    def stop(self) -> None:
        self._stop.set()
        if self._ctrl is not None:
            self._ctrl.close()
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        self.log.close()

    def __enter__(self) -> Softphone:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


#: The wrap-up (话后处理) the tests' Asterisk enforces and their desktops count from: none, so one agent
#: takes call after call. Set here on purpose, not inherited from the shipped config (which enforces
#: 15 s); a test needing a wrap-up sets its own (test_wrapup_enforced, the backend's wrapup_s).
TEST_WRAPUP_S = 0


def with_test_wrapup(config: Any) -> Any:
    """A loaded HotlineConfig with the tests' wrap-up (for rendering a sandbox Asterisk)."""
    import dataclasses

    return dataclasses.replace(config, wrapup_s=TEST_WRAPUP_S)


def open_all_day_config(tmp: Path) -> Path:
    """The shipped platform config with every platform open 7x24, so tests do not depend on the clock
    (prefecture platforms close at 17:30 and would send a Dali caller to voicemail), and the tests'
    wrap-up (TEST_WRAPUP_S)."""
    import yaml

    from callflow.config import default_config_path

    data = yaml.safe_load(default_config_path().read_text(encoding="utf-8"))
    data["wrapup_s"] = TEST_WRAPUP_S
    for p in data["platforms"]:
        p["hours"] = {"mode": "7x24"}
    path = tmp / "platforms-7x24.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


# ---- the desktop/wallboard system tests' shared set-up ----

DALI_MOBILE = "13987212345"  # `hotline route --from 13987212345` → dali / q-dali


@asynccontextmanager
async def desk(
    tmp_path: Path,
    db_url: str,
    ast: Any,
    answer_after: float | None = 3.0,
    wrapup_s: int = 2,
    record_received: bool = False,
    **settings_kw: Any,
) -> AsyncIterator[tuple[Any, str, Softphone]]:
    from tests.browser import live_server
    from tests.conftest import add_user
    from tests.system.conftest import backend_settings

    settings = backend_settings(
        tmp_path, db_url, ast, platform_config=open_all_day_config(tmp_path), wrapup_s=wrapup_s, **settings_kw
    )
    phone = Softphone(
        tmp_path,
        "agent-1001",
        "softphone-pw-1001",
        ast.sip_port,
        local_port=free_sip_port(),
        ctrl_port=_free(socket.SOCK_STREAM),
        answer_after=answer_after,
        record_received=record_received,
    )
    phone.start()
    try:
        await asyncio.to_thread(phone.wait_registered, ast.sandbox.cli)
        async with live_server(settings) as (app, base):
            await add_user(
                app, "li.dali", "agent", platform="dali", sip_endpoint="agent-1001", display_name="李大理"
            )
            await add_user(app, "zhao.dali", "supervisor", platform="dali", display_name="赵班长")
            await add_user(app, "wang.prov", "supervisor", platform="province", display_name="王值班长")
            try:
                yield app, base, phone
            finally:
                await clear_queues(app)
    finally:
        phone.stop()


async def clear_queues(app: Any) -> None:
    """Leave the session's Asterisk as we found it: no members, no calls."""
    tel = app.state.runtime.require(TELEPHONY)
    for conn in tel.connections.values():
        if not conn.connected:
            continue
        for q in list(tel.state.queues.values()):
            for m in list(q.members.values()):
                try:
                    await conn.action({"Action": "QueueRemove", "Queue": q.name, "Interface": m.interface})
                except Exception:  # noqa: BLE001
                    pass
        try:
            # (the backend's AMI user has no "command" right: hang up every channel by regex instead)
            await conn.action({"Action": "Hangup", "Channel": "/.*/"})
        except Exception:  # noqa: BLE001
            pass


CHANNEL_IDS = ("Uniqueid", "Linkedid", "DestUniqueid", "DestLinkedid")


def completion_of(events: list[dict[str, str]], call: Any) -> dict[str, str] | None:
    """The AgentComplete of this call in ``events`` (in arrival order), or None.

    When the caller hung up first Asterisk omits the caller-side fields (Uniqueid, Channel): the agent
    side's DestLinkedid (the call's linked id) still names it. When both channels are gone before its
    queue thread reports the hang-up (seen on a loaded machine), it names no channel at all: then it is
    the next AgentComplete of the member the call's AgentConnect went to (one call per phone)."""
    ids = {call.uniqueid, call.linkedid}
    member = None
    for e in events:
        named = bool(ids & {e.get(k) for k in CHANNEL_IDS})
        if e.get("Event") == "AgentConnect" and named:
            member = e.get("Interface")
        elif e.get("Event") == "AgentComplete":
            if named or (member and e.get("Interface") == member and not any(e.get(k) for k in CHANNEL_IDS)):
                return e
    return None


class AmiWatch:  # noqa: D101
    """A separate AMI connection recording every event, to check what Asterisk itself did."""

    def __init__(self, ast: Any) -> None:
        self.events: list[dict[str, str]] = []
        from app.telephony.ami import AmiConnection

        self.conn = AmiConnection(ast.server, on_event=lambda _s, ev: self.events.append(ev))

    async def __aenter__(self) -> AmiWatch:
        await self.conn.start()
        assert await self.conn.wait_connected(5)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.conn.close()

    async def wait_for_complete(self, call: Any, timeout: float) -> dict[str, str]:
        """Asterisk's AgentComplete of ``call`` (see ``completion_of``)."""
        return await self._wait(lambda: completion_of(self.events, call), timeout)

    async def wait_for(self, pred: Callable[[dict[str, str]], bool], timeout: float = 15.0) -> dict[str, str]:
        return await self._wait(lambda: next((ev for ev in self.events if pred(ev)), None), timeout)

    async def _wait(self, find: Callable[[], dict[str, str] | None], timeout: float) -> dict[str, str]:
        for _ in range(int(timeout / 0.05)):
            if (found := find()) is not None:
                return found
            await asyncio.sleep(0.05)
        seen = [
            {k: ev.get(k) for k in ("Event", "Uniqueid", "Channel", "Reason", "Cause", "Interface") if ev.get(k)}
            for ev in self.events
        ]
        raise AssertionError(f"no such AMI event in {len(self.events)} events: {seen}")
