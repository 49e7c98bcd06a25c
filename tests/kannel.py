"""A real Kannel SMS gateway for tests, on loopback, in a temp dir: bearerbox (with a ``fake`` SMSC),
smsbox (sendsms for the outbox, sms-service posting inbound SMS to the app) and Kannel's own
``fakesmsc`` as the mobile network: it sends the citizen's SMS and logs every SMS it is handed.
Each process is started here and stopped by its own PID."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import free_port
from tests.waiting import wait_until_sync

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
USER, PASSWORD = "hotline", "kannel-test-pw"

CONF = """\
group = core
admin-port = {admin}
admin-interface = 127.0.0.1
admin-password = {admin_pw}
admin-allow-ip = 127.0.0.1
smsbox-port = {boxc}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
dlr-storage = internal
store-type = spool
store-location = {dir}/store
log-file = {dir}/bearerbox.log
log-level = 0

group = smsc
smsc = fake
smsc-id = fake
port = {fake}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {boxc}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
mo-recode = true
log-file = {dir}/smsbox.log
log-level = 0

group = sendsms-user
username = {user}
password = {password}
user-allow-ip = 127.0.0.1

group = sms-service
keyword = default
catch-all = true
post-url = "{inbound}?id=%I"
send-sender = true
max-messages = 0
omit-empty = true
"""


def quote_ucs2(text: str) -> str:
    return urllib.parse.quote(text.encode("utf-16-be"))


def decode_line(line: str) -> tuple[str, str, str]:
    """(sender, receiver, text) of one line fakesmsc logs for an SMS it was handed."""
    sender, receiver, kind, data = line.split(" ", 3)
    raw = urllib.parse.unquote_to_bytes(data.replace("+", " ") if kind == "text" else data)
    text = raw.decode("utf-16-be") if kind in ("ucs-2", "ucs2") else raw.decode("utf-8", "replace")
    return sender, receiver, text


@dataclass
class Kannel:
    dir: Path
    inbound_url: str
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['sendsms']}/cgi-bin/sendsms"

    def write_conf(self) -> Path:
        self.ports = {k: free_port() for k in ("admin", "boxc", "fake", "sendsms")}
        (self.dir / "store").mkdir(parents=True, exist_ok=True)
        conf = self.dir / "kannel.conf"
        conf.write_text(
            CONF.format(dir=self.dir, inbound=self.inbound_url, user=USER, password=PASSWORD,
                        admin_pw=os.urandom(8).hex(), **self.ports),
            encoding="utf-8",
        )  # fmt: skip
        return conf

    def _start(self, name: str, argv: list[str]) -> None:
        out = open(self.dir / f"{name}.out", "ab")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=self.dir)
        out.close()

    def _log(self, name: str) -> str:
        p = self.dir / f"{name}.out"
        return p.read_text("utf-8", "replace") if p.exists() else ""

    def start_boxes(self) -> None:
        conf = str(self.dir / "kannel.conf")
        self._start("bearerbox", [BEARERBOX, "-v", "1", conf])
        wait_until_sync(lambda: "Start-up done" in self._log("bearerbox"), 60, "bearerbox to start",
                        describe=lambda: self._log("bearerbox")[-2000:])  # fmt: skip
        self.start_smsbox()

    def start_smsbox(self) -> None:
        self._start("smsbox", [SMSBOX, "-v", "1", str(self.dir / "kannel.conf")])
        wait_until_sync(lambda: self._log("smsbox").count("Connected to bearerbox") > self.smsbox_starts, 60,
                        "smsbox to connect to bearerbox", describe=lambda: self._log("smsbox")[-2000:])  # fmt: skip
        self.smsbox_starts += 1

    smsbox_starts: int = 0

    def start_phone(self, sender: str, text: str, receiver: str = "12345") -> None:
        """The mobile network: one SMS from ``sender`` (UCS-2, as handsets send Chinese), then it
        stays connected and logs every SMS handed to it."""
        self._start("fakesmsc", [FAKESMSC, "-v", "0", "-H", "127.0.0.1", "-r", str(self.ports["fake"]),
                                 "-m", "1", f"{sender} {receiver} ucs2 {quote_ucs2(text)}"])  # fmt: skip

    def handed_to_network(self) -> list[tuple[str, str, str]]:
        """Every SMS the (fake) mobile network received, decoded."""
        out = []
        for line in self._log("fakesmsc").splitlines():
            if "Got message" in line and ": <" in line:
                out.append(decode_line(line.split(": <", 1)[1].rstrip(">")))
        return out

    def stop(self, name: str) -> None:
        p = self.procs.pop(name, None)
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)

    def stop_all(self) -> None:
        for name in ("fakesmsc", "smsbox", "bearerbox"):
            self.stop(name)
