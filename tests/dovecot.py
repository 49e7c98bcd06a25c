"""A real Dovecot IMAP server on loopback for the e-mail channel's tests: its own configuration (in the
test's directory), an unprivileged port, plain-text login (loopback only, no TLS), one mailbox user;
started in the foreground (-F) and stopped by its PID.

As root (this machine), Dovecot's own processes run as the package's users (dovecot, dovenull) and the
mail store, which the mail user (dovecot) must reach, lives in a directory of its own under /tmp (the
test's directory is private to root); as any other user everything runs as that user."""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.waiting import wait_until_sync

DOVECOT = os.environ.get("HOTLINE_DOVECOT", "/usr/sbin/dovecot")

CONF = """\
base_dir = {run}
state_dir = {run}/state
log_path = {dir}/dovecot.log
instance_name = hotline-test-{port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
first_valid_uid = 1
mail_location = maildir:{shared}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {shared}/users
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={shared}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def _user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@dataclass
class Dovecot:
    dir: Path
    port: int
    user: str = "hotline-box"
    password: str = field(default_factory=lambda: os.urandom(8).hex())
    proc: subprocess.Popen[bytes] | None = None
    store: Path | None = None

    def write_conf(self) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            if not (_user("dovecot") and _user("dovenull")):
                raise RuntimeError("the dovecot-core package's users (dovecot, dovenull) are missing")
            internal, group, login, mail_user, mail_group = "dovecot", "dovecot", "dovenull", "dovecot", "dovecot"
        else:
            me = pwd.getpwuid(os.geteuid()).pw_name
            internal, login, mail_user = me, me, me
            group = mail_group = grp.getgrgid(os.getegid()).gr_name
        # what Dovecot's unprivileged processes read (the password file) and write (the mail store),
        # and its sockets' directory: under a short path, as a unix socket's path has at most 107 bytes
        # (pytest's tmp_path under xdist, popen-gwN/<test name>/dovecot/run/token-login/…, is longer)
        self.store = Path(tempfile.mkdtemp(prefix="hotline-dovecot-"))
        self.store.chmod(0o755)
        users = self.store / "users"
        users.write_text(f"{self.user}:{{PLAIN}}{self.password}\n", encoding="utf-8")
        users.chmod(0o640)
        (self.store / "mail").mkdir(mode=0o700)
        if os.geteuid() == 0:
            shutil.chown(users, "root", "dovecot")
            shutil.chown(self.store / "mail", "dovecot", "dovecot")
        conf = self.dir / "dovecot.conf"
        conf.write_text(
            CONF.format(run=self.store / "run", dir=self.dir, port=self.port, internal=internal, internal_group=group,
                        login=login, shared=self.store, mail_user=mail_user, mail_group=mail_group),
            encoding="utf-8",
        )  # fmt: skip
        return conf

    def log(self) -> str:
        p = self.dir / "dovecot.log"
        return p.read_text("utf-8", "replace") if p.exists() else ""

    def start(self) -> None:
        conf = self.write_conf() if not (self.dir / "dovecot.conf").exists() else self.dir / "dovecot.conf"
        out = open(self.dir / "dovecot.out", "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
        out.close()

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"dovecot exited: {(self.dir / 'dovecot.out').read_text()}{self.log()}")
            try:
                imaplib.IMAP4("127.0.0.1", self.port, timeout=2).logout()
                return True
            except OSError:
                return False

        wait_until_sync(up, 30, "Dovecot to accept IMAP connections", describe=lambda: self.log()[-2000:])

    def client(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login(self.user, self.password)
        return conn

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """A message arrives in the mailbox (unseen), as the mail server's delivery would put it."""
        conn = self.client()
        try:
            typ, data = conn.append(folder, None, None, raw)
            assert typ == "OK", data
        finally:
            conn.logout()

    def unseen(self, folder: str = "INBOX") -> list[bytes]:
        conn = self.client()
        try:
            conn.select(folder, readonly=True)
            typ, data = conn.uid("SEARCH", "UNSEEN")
            assert typ == "OK", data
            return list((data[0] or b"").split())
        finally:
            conn.logout()

    def stop(self) -> None:
        p, self.proc = self.proc, None
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        if self.store is not None:
            shutil.rmtree(self.store, ignore_errors=True)
            self.store = None
