"""A unit's own system (a utility's, say) implementing the exchange protocol from docs/exchange/ only:
the Python standard library, no code of this project. A separate process on 127.0.0.1 for the
unit-peer test: ``python tests/unit_peer.py CONFIG.json``; stopped by its PID. Not a test module.

As the protocol's receiver it checks every request (key id, timestamp, nonce, HMAC-SHA256 signature,
recipient, sender), applies each case's messages once and in sequence order (duplicates acknowledged,
later numbers parked until the gap is filled). As a sender it signs for a case (sign), reports progress,
asks for an extension, replies (reply) or returns it (return), numbering its own messages per case.

Control (the test drives it; loopback only): ``GET /control/state`` (cases as received, refusals),
``POST /control/act`` {case_number, action, note, deliver: send|twice|tamper|hold} and
``POST /control/release`` {order: reverse|forward} (sends the held messages)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH = "/exchange/v1/messages"
# the unit's side of the state table (README §7): action -> (states it may leave from, state it gives)
UNIT_TABLE = {
    "sign": (("dispatched",), "signed"),
    "return": (("dispatched", "signed"), "returned"),
    "progress": (("signed", "in_progress"), "in_progress"),
    "request_extension": (("signed", "in_progress"), "extension_requested"),
    "reply": (("signed", "in_progress"), "replied"),
}


def sign(secret: str, ts: str, nonce: str, method: str, path: str, body: bytes) -> str:
    canonical = "\n".join([ts, nonce, method, path, hashlib.sha256(body).hexdigest()]).encode()
    return hmac.new(secret.encode(), canonical, hashlib.sha256).hexdigest()


class Unit:
    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.lock = threading.Lock()
        self.nonces: set[str] = set()
        self.seen_ids: set[str] = set()
        self.cases: dict[
            str, dict[str, Any]
        ] = {}  # number -> {in_seq, parked, snapshot, events, status, out_seq}
        self.refusals: list[dict[str, str]] = []
        self.held: list[bytes] = []

    # --- receiving ------------------------------------------------------------------------------
    def receive(self, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        cfg, h = self.cfg, headers
        if h.get("X-Exchange-Key-Id") != cfg["key_id"]:
            return self._refuse(401, "unknown_key")
        ts, nonce, sig = (
            h.get("X-Exchange-Timestamp", ""),
            h.get("X-Exchange-Nonce", ""),
            h.get("X-Exchange-Signature", ""),
        )
        if not ts.isdigit() or abs(int(ts) - time.time()) > 300:
            return self._refuse(401, "expired_timestamp")
        if not 8 <= len(nonce) <= 64:
            return self._refuse(401, "bad_nonce")
        good = sign(cfg["secret"], ts, nonce, "POST", PATH, body)
        if not hmac.compare_digest(good.encode(), sig.lower().encode()):
            return self._refuse(401, "bad_signature")
        try:
            msg = json.loads(body)
        except ValueError:
            return self._refuse(422, "malformed_body")
        if msg.get("recipient") != cfg["node"] or msg.get("sender") != cfg["hotline_node"]:
            return self._refuse(422, "wrong_recipient")
        with self.lock:
            if nonce in self.nonces:
                return self._refuse(409, "replayed_nonce")
            self.nonces.add(nonce)
            if msg["message_id"] in self.seen_ids:
                return 200, {"status": "duplicate", "message_id": msg["message_id"]}
            self.seen_ids.add(msg["message_id"])
            c = self._case(msg["case_number"])
            seq = int(msg["seq"])
            if seq <= c["in_seq"] or seq in c["parked"]:
                return 200, {"status": "duplicate", "message_id": msg["message_id"]}
            c["parked"][seq] = msg
            if seq != c["in_seq"] + 1:
                return 202, {"status": "parked", "message_id": msg["message_id"]}
            while c["in_seq"] + 1 in c["parked"]:
                m = c["parked"].pop(c["in_seq"] + 1)
                c["in_seq"] += 1
                c["events"].append(m["transition"])
                c["snapshot"] = m["case"]
                c["status"] = m["case"]["status"]
            return 200, {"status": "applied", "message_id": msg["message_id"]}

    def _refuse(self, status: int, code: str) -> tuple[int, dict[str, Any]]:
        self.refusals.append({"code": code})
        return status, {"error": code, "detail": code}

    def _case(self, number: str) -> dict[str, Any]:
        return self.cases.setdefault(
            number, {"in_seq": 0, "parked": {}, "snapshot": None, "events": [], "status": None, "out_seq": 0}
        )

    # --- sending --------------------------------------------------------------------------------
    def build(self, number: str, action: str, note: str | None) -> bytes:
        with self.lock:
            c = self._case(number)
            froms, to = UNIT_TABLE[action]
            frm = c["status"]
            c["out_seq"] += 1
            now = datetime.now(UTC).isoformat()
            msg = {
                "protocol": "hotline-exchange/1", "message_id": f"{self.cfg['node']}:{uuid.uuid4().hex}",
                "sender": self.cfg["node"], "recipient": self.cfg["hotline_node"], "case_number": number,
                "seq": c["out_seq"], "sent_at": now, "kind": "transition",
                "transition": {"action": action, "from": frm, "to": to, "note": note, "actor": "王工",
                               "actor_role": "unit", "at": now, "data": {"unit": self.cfg["unit"]}},
                "case": {**c["snapshot"], "status": to},
            }  # fmt: skip
            if frm in froms:
                c["status"] = to  # the unit's own view moves on; the hotline confirms or refuses
            return json.dumps(msg, ensure_ascii=False).encode()

    def post(self, body: bytes, tamper: bool = False) -> dict[str, Any]:
        ts, nonce = str(int(time.time())), secrets.token_hex(16)
        msg_id = json.loads(body)["message_id"]
        headers = {
            "Content-Type": "application/json", "X-Exchange-Key-Id": self.cfg["key_id"], "X-Exchange-Timestamp": ts,
            "X-Exchange-Nonce": nonce, "Idempotency-Key": msg_id,
            "X-Exchange-Signature": sign(self.cfg["secret"], ts, nonce, "POST", PATH, body),
        }  # fmt: skip
        if tamper:  # changed on the way, after signing
            body = body.replace("王工".encode(), "李工".encode())
        req = urllib.request.Request(
            self.cfg["hotline_url"] + PATH, data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return {"http": r.status, "answer": json.loads(r.read() or b"{}")}
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return {"http": e.code, "answer": json.loads(raw or b"{}")}
            except ValueError:
                return {"http": e.code, "answer": {"error": raw.decode(errors="replace")[:500]}}


def handler(unit: Unit) -> type[BaseHTTPRequestHandler]:
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            pass

        def _answer(self, status: int, obj: Any) -> None:
            data = json.dumps(obj, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            n = int(self.headers.get("Content-Length") or 0)
            if n > 256 * 1024:
                raise ValueError("too large")
            return self.rfile.read(n)

        def do_GET(self) -> None:
            if self.path != "/control/state":
                return self._answer(404, {"error": "not_found"})
            with unit.lock:
                cases = {
                    k: {x: v[x] for x in ("in_seq", "snapshot", "events", "status")}
                    for k, v in unit.cases.items()
                }
                self._answer(200, {"cases": cases, "refusals": list(unit.refusals)})

        def do_POST(self) -> None:
            body = self._body()
            if self.path == PATH:
                return self._answer(*unit.receive(self.headers, body))
            req = json.loads(body or b"{}")
            if self.path == "/control/act":
                raw = unit.build(req["case_number"], req["action"], req.get("note"))
                how = req.get("deliver", "send")
                if how == "hold":
                    unit.held.append(raw)
                    return self._answer(200, {"held": len(unit.held)})
                out = [unit.post(raw, tamper=how == "tamper")]
                if how == "twice":
                    out.append(unit.post(raw))
                return self._answer(200, {"results": out, "message": json.loads(raw)})
            if self.path == "/control/release":
                held, unit.held = unit.held, []
                order = held[::-1] if req.get("order") == "reverse" else held
                return self._answer(200, {"results": [unit.post(raw) for raw in order]})
            if self.path == "/control/resend":  # the last built message of a case, again (a retry)
                return self._answer(200, {"results": [unit.post(req["raw"].encode())]})
            self._answer(404, {"error": "not_found"})

    return H


if __name__ == "__main__":
    config = json.loads(open(sys.argv[1], encoding="utf-8").read())
    server = ThreadingHTTPServer(("127.0.0.1", config["port"]), handler(Unit(config)))
    server.serve_forever()
