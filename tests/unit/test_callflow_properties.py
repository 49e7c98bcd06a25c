"""Property tests: routing is total — any caller id, trunk, time or agent table gets a route."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callflow import CallContext, decide, load_config, resolve_region

CONFIG = load_config()
QUEUES = CONFIG.all_queues()
MAILBOXES = {p.mailbox for p in CONFIG.platforms}
KINDS = {"mobile", "landline", "local", "international", "anonymous", "invalid", "other_province"}

phone_like = st.builds(
    lambda prefix, body, sep: prefix + sep.join(body),
    st.sampled_from(["", "+", "+86", "0086", "86", "0", "+852", "+1", "sip:", "tel:+86", "<sip:"]),
    st.lists(st.text(alphabet="0123456789", min_size=1, max_size=5), min_size=1, max_size=5),
    st.sampled_from(["", " ", "-", "@", ";"]),
)
caller_ids = st.one_of(
    st.none(), st.text(max_size=60), phone_like, st.sampled_from(["anonymous", "Restricted"])
)
trunks = st.one_of(
    st.none(), st.text(max_size=20), st.sampled_from([t for p in CONFIG.platforms for t in p.trunks])
)
zones = st.one_of(
    st.sampled_from([UTC, ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York"),
                     timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))]),
    st.timezones(),
)  # fmt: skip
moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=zones)
agents = st.one_of(
    st.none(),
    st.dictionaries(st.one_of(st.sampled_from(QUEUES), st.text(max_size=8)), st.integers(0, 5), max_size=6),
)


dnids = st.one_of(
    st.text(max_size=30), phone_like, st.sampled_from([d for h in CONFIG.hotlines.hotlines for d in h.dids])
)
HOTLINES = {h.code for h in CONFIG.hotlines.hotlines}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(caller=caller_ids, trunk=trunks, now=moments, queue_agents=agents, waiting=agents, dnid=dnids)
def test_decide_is_total(caller, trunk, now, queue_agents, waiting, dnid):
    ctx = CallContext(caller, trunk=trunk, queue_agents=queue_agents, queue_waiting=waiting, dnid=dnid)
    d = decide(ctx, now, CONFIG)
    assert "internal error" not in d.reason, d.warnings
    assert d.route in ("queue", "voicemail")
    assert d.hotline in HOTLINES
    if d.route == "queue":
        # a closed platform queues only at the provincial 7x24 pool (when_closed)
        assert d.queue in QUEUES and (d.is_open or d.queue == CONFIG.overflow_queue)
    else:
        assert d.queue is None and d.mailbox in MAILBOXES and not d.is_open
    assert d.platform in {p.code for p in CONFIG.platforms}
    assert d.caller_kind in KINDS
    if now.year > 2026 and not CONFIG.calendar.has_year(now.astimezone(CONFIG.zone).year):
        assert d.warnings
    json.dumps(d.to_dict(), ensure_ascii=False)


@settings(max_examples=200, deadline=None)
@given(now=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31)))
def test_decide_accepts_naive_datetimes(now):
    d = decide(CallContext("13987212345"), now, CONFIG)
    assert "internal error" not in d.reason and any("naive" in w for w in d.warnings)


@settings(max_examples=500, deadline=None)
@given(caller=st.one_of(caller_ids, st.text(), st.binary().map(lambda b: b.decode("latin-1"))), trunk=trunks)
def test_resolve_region_never_raises(caller, trunk):
    r = resolve_region(caller, trunk, CONFIG)
    assert r.kind in KINDS
    if r.prefecture is not None:
        assert CONFIG.platform(r.prefecture).kind == "prefecture"
    if r.kind in ("anonymous", "invalid"):
        assert r.prefecture is None and r.e164 is None


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2026, 6, 30)), n=st.integers(0, 40)
)
def test_add_working_days_round_trips(start, n):
    end = CONFIG.calendar.add_working_days(start, n)
    assert CONFIG.calendar.working_days_between(start, end) == n
    assert end.time() == start.time()
    if n:
        assert CONFIG.calendar.is_workday(end.date())


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2026, 6, 30)),
    hours=st.floats(0, 60, allow_nan=False),
)
def test_add_working_hours_lands_in_a_window(start, hours):
    windows = CONFIG.platform("dali").hours.windows
    end = CONFIG.calendar.add_working_hours(start, hours, windows)
    assert end >= start
    if timedelta(hours=hours):  # below one microsecond nothing is added
        assert CONFIG.calendar.is_workday(end.date())
        assert any(s < end.time() <= e for s, e in windows)
