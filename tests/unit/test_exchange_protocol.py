"""The exchange protocol, pure: signing, freshness, and exactly-once in-order application per case
whatever the delivery schedule (hypothesis generates duplicated and reordered deliveries)."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from app.exchange import protocol as p
from app.exchange import sequencing

REPO = Path(__file__).resolve().parents[2]


class Receiver:
    """The inbound logic of app.exchange.inbound.receive, in memory: what it stores and applies."""

    def __init__(self) -> None:
        self.applied_seq = 0
        self.parked: dict[int, str] = {}
        self.seen: set[str] = set()
        self.applied: list[str] = []

    def deliver(self, seq: int, message_id: str) -> str:
        if message_id in self.seen:
            return "duplicate"
        self.seen.add(message_id)
        d = sequencing.decide(self.applied_seq, self.parked.keys(), seq)
        if d.kind == sequencing.PARK:
            self.parked[seq] = message_id
        if d.kind == sequencing.APPLY:
            self.parked[seq] = message_id
            for s in d.apply:
                self.applied.append(self.parked.pop(s))
                self.applied_seq = s
        return d.kind


@st.composite
def schedules(draw: st.DrawFn) -> tuple[int, list[int]]:
    n = draw(st.integers(min_value=1, max_value=30))
    copies = draw(st.lists(st.integers(min_value=1, max_value=3), min_size=n, max_size=n))
    deliveries = [seq for seq, c in zip(range(1, n + 1), copies, strict=True) for _ in range(c)]
    return n, draw(st.permutations(deliveries))


@settings(max_examples=500, deadline=None)
@given(schedules())
def test_any_schedule_applies_every_message_once_in_order(schedule):
    n, deliveries = schedule
    r = Receiver()
    for seq in deliveries:
        r.deliver(seq, f"m{seq}")
    assert r.applied == [f"m{i}" for i in range(1, n + 1)]
    assert r.parked == {} and r.applied_seq == n


@settings(max_examples=300, deadline=None)
@given(schedules(), st.data())
def test_a_prefix_of_any_schedule_applied_an_unbroken_run(schedule, data):
    n, deliveries = schedule
    cut = data.draw(st.integers(min_value=0, max_value=len(deliveries)))
    r = Receiver()
    for seq in deliveries[:cut]:
        r.deliver(seq, f"m{seq}")
    arrived = set(deliveries[:cut])
    run = 0
    while run + 1 in arrived:
        run += 1
    assert r.applied == [f"m{i}" for i in range(1, run + 1)]  # nothing past a gap
    assert set(r.parked) == {s for s in arrived if s > run + 1}


def test_decide_says_what_happens():
    assert sequencing.decide(0, set(), 1) == sequencing.Decision("apply", [1])
    assert sequencing.decide(0, {2, 3, 5}, 1) == sequencing.Decision("apply", [1, 2, 3])
    assert sequencing.decide(1, set(), 3).kind == "park"
    assert sequencing.decide(3, set(), 2).kind == "duplicate"
    assert sequencing.decide(1, {3}, 3).kind == "duplicate"


def test_signature_covers_every_signed_part():
    body = b'{"x":1}'
    sig = p.sign("s" * 32, "1700000000", "nonce-123", "POST", p.PATH, body)
    assert p.verify("s" * 32, sig, "1700000000", "nonce-123", "post", p.PATH, body)
    assert p.verify("s" * 32, sig.upper(), "1700000000", "nonce-123", "POST", p.PATH, body)
    for args in [
        ("t" * 32, sig, "1700000000", "nonce-123", "POST", p.PATH, body),
        ("s" * 32, sig, "1700000001", "nonce-123", "POST", p.PATH, body),
        ("s" * 32, sig, "1700000000", "nonce-124", "POST", p.PATH, body),
        ("s" * 32, sig, "1700000000", "nonce-123", "POST", "/exchange/v2/messages", body),
        ("s" * 32, sig, "1700000000", "nonce-123", "POST", p.PATH, b'{"x":2}'),
    ]:
        assert not p.verify(*args)
    # the documented canonical string (docs/exchange/README.md gives this worked example)
    assert p.canonical("1700000000", "nonce-123", "post", p.PATH, b"{}").decode() == (
        "1700000000\nnonce-123\nPOST\n/exchange/v1/messages\n"
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    )


def test_fresh_timestamps_only():
    assert p.fresh("1000", 1000.0, 300) and p.fresh("1300", 1000.0, 300) and p.fresh("700", 1000.0, 300)
    assert not p.fresh("1301", 1000.0, 300) and not p.fresh("-5", 1000.0, 300)
    assert not p.fresh("1e3", 1000.0, 300) and not p.fresh("", 1000.0, 300)


def test_published_json_schema_is_the_one_the_code_validates():
    published = json.loads((REPO / "docs/exchange/message.schema.json").read_text(encoding="utf-8"))
    assert published == p.message_schema()


def test_openapi_documents_every_refusal_and_the_schema_validates_a_real_message():
    import re

    import jsonschema
    import yaml

    from tests.exchange_helpers import message

    api = yaml.safe_load((REPO / "docs/exchange/openapi.yaml").read_text(encoding="utf-8"))
    documented = set(api["components"]["schemas"]["Refused"]["properties"]["error"]["enum"])
    code = "".join((REPO / f"app/exchange/{m}.py").read_text(encoding="utf-8") for m in ("inbound", "router", "pulls", "batch"))
    emitted = set(re.findall(r'Refused\(\s*\d+,\s*"(\w+)"', code))
    assert emitted and emitted <= documented, emitted - documented
    assert api["paths"][p.PATH]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"] == (
        "message.schema.json"
    )
    schema = json.loads((REPO / "docs/exchange/message.schema.json").read_text(encoding="utf-8"))
    good = message("km-node", "prov-node", "KM-20261202-0001", 1)
    jsonschema.validate(good, schema)  # what our tests send is what the published schema allows
    p.Message.model_validate(good)
    bad = {**good, "seq": 0}
    try:
        jsonschema.validate(bad, schema)
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("seq 0 passed the published schema")
