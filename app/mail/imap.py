"""One platform mailbox over IMAP (stdlib imaplib; blocking: the reader calls it in a worker thread).

Unseen messages are read with BODY.PEEK (reading does not mark them); the reader flags one \\Seen only
after what it did with it is committed, so a crash in between reads it again (at-least-once; intake
is idempotent by Message-ID). A message larger than the limit is never downloaded: only its header."""

from __future__ import annotations

import imaplib
import re
import ssl
from typing import Any

from app.settings import MailboxSetting

_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class ImapError(RuntimeError):
    pass


def _ok(typ: str, data: Any, what: str) -> Any:
    if typ != "OK":
        raise ImapError(f"{what}: {typ} {data!r}"[:300])
    return data


class Mailbox:
    def __init__(self, box: MailboxSetting) -> None:
        self.box = box
        self.conn: imaplib.IMAP4 | None = None

    def open(self) -> None:
        b = self.box
        if b.tls == "ssl":
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                b.host, b.port, ssl_context=ssl.create_default_context(), timeout=b.timeout_s
            )
        else:
            conn = imaplib.IMAP4(b.host, b.port, timeout=b.timeout_s)
            if b.tls == "starttls":
                conn.starttls(ssl.create_default_context())
        try:
            conn.login(b.user, b.password)
            _ok(*conn.select(_quote(b.folder)), what=f"select {b.folder}")
        except imaplib.IMAP4.error as e:
            conn.shutdown()
            raise ImapError(f"{b.name}: {e}") from None
        self.conn = conn

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.logout()
            except (OSError, imaplib.IMAP4.error):
                self.conn.shutdown()
            self.conn = None

    def _c(self) -> imaplib.IMAP4:
        if self.conn is None:
            raise ImapError("mailbox not open")
        return self.conn

    def unseen(self) -> list[str]:
        data = _ok(*self._c().uid("SEARCH", "UNSEEN"), what="search UNSEEN")
        return [u.decode() for u in (data[0] or b"").split() if u.isdigit()]

    def size(self, uid: str) -> int:
        data = _ok(*self._c().uid("FETCH", uid, "(RFC822.SIZE)"), what="fetch size")
        for item in data:
            found = _SIZE.search(item if isinstance(item, bytes) else item[0])
            if found:
                return int(found.group(1))
        raise ImapError(f"no size for uid {uid!r}")

    def _fetch(self, uid: str, part: str) -> bytes:
        data = _ok(*self._c().uid("FETCH", uid, f"({part})"), what="fetch")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                return bytes(item[1])
        raise ImapError(f"uid {uid!r} is gone")

    def message(self, uid: str) -> bytes:
        return self._fetch(uid, "BODY.PEEK[]")

    def header(self, uid: str) -> bytes:
        return self._fetch(uid, "BODY.PEEK[HEADER]")

    def mark_handled(self, uid: str) -> None:
        _ok(*self._c().uid("STORE", uid, "+FLAGS", "(\\Seen)"), what="store \\Seen")


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
