"""Who may use the FastAGI server: only the configured Asterisk addresses, and only with the
per-server key the dialplan passes as the last AGI argument (rendered from configuration by
asterisk_conf). Checked on the parsed headers before any route runs, in memory (no database): a
forged request from another host or another local user is refused and routes nothing."""

from __future__ import annotations

import hmac
import ipaddress
import re
import socket
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass

ARG = re.compile(r"^agi_arg_(\d+)$")


def _addresses(host: str) -> set[str]:
    try:
        return {str(ipaddress.ip_address(host))}
    except ValueError:
        pass
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except OSError:
        return set()


@dataclass(frozen=True)
class AgiGuard:
    allowed: frozenset[str]  # peer addresses; empty = any address
    keys: tuple[str, ...]  # accepted keys; empty = no key configured (address check only)

    @classmethod
    def of(cls, hosts: Iterable[str], keys: Iterable[str]) -> AgiGuard:
        allowed: set[str] = set()
        for h in hosts:
            allowed |= _addresses(h)
        if allowed & {"127.0.0.1", "::1"}:
            allowed |= {"127.0.0.1", "::1", "::ffff:127.0.0.1"}
        return cls(frozenset(allowed), tuple(k for k in keys if k))

    def refuse(self, peer: str | None, headers: MutableMapping[str, str]) -> str | None:
        """The reason to refuse this request (never containing the key), or None. On success the key
        argument is removed from the headers, so no handler sees or logs it."""
        if self.allowed:
            host = (peer or "").removeprefix("::ffff:")
            if host not in self.allowed and peer not in self.allowed:
                return f"address {peer} is not a configured Asterisk"
        if not self.keys:
            return None
        args = [int(m.group(1)) for k in headers if (m := ARG.match(k))]
        if not args:
            return "no key argument"
        last = f"agi_arg_{max(args)}"
        given = headers.get(last, "").encode()
        if not any(hmac.compare_digest(given, k.encode()) for k in self.keys):
            return "wrong key"
        del headers[last]
        return None
