"""Every AMI event the backend subscribes to passes the eventfilter rendered into manager.conf."""

from __future__ import annotations

import re

from app.telephony.handlers import DECISION_EVENT
from app.telephony.subscriptions import SUBSCRIPTIONS
from asterisk_conf.ami_rights import AMI_EVENTS
from asterisk_conf.render import RenderParams, manager_conf


def test_subscribed_events_pass_the_rendered_filter(tmp_path):
    conf = manager_conf(RenderParams(base_dir=tmp_path))
    line = next(ln for ln in conf.splitlines() if ln.startswith("eventfilter"))
    pattern = re.compile(line.split("=", 1)[1].strip())
    for name in SUBSCRIPTIONS:
        if name == DECISION_EVENT:
            continue  # synthetic, never comes from Asterisk
        assert name in AMI_EVENTS
        assert pattern.search(f"Event: {name}\r\nPrivilege: agent,all\r\n"), name
    assert not pattern.search("Event: Newexten\r\n")
    assert not pattern.search("Event: Newstate\r\n")
