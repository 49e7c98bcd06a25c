"""Two real Asterisks (on 127.0.0.1) whose main files only #include what `hotline asterisk render` wrote
for each server of a two-server deployment (a prefecture's server and the province's): each sees the
other at the end of the IAX2 trunk (`iax2 show peers`: OK), and a call the prefecture's server sends
over the trunk the way a transfer does (IAX2/province/<queue index><transfer row>) is accepted by the
province's server with the shared secret and lands in its hotline-trunk-in dialplan (the transfer's
row is reported over AMI). The secret is only in the 0600 files."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.ops.asterisk_cli import add_commands
from app.settings import AsteriskServer, Settings
from asterisk_conf.sandbox import Sandbox, free_port
from callflow import load_config
from tests.resources import require
from tests.system.softphone import AmiWatch
from tests.system.test_ops_asterisk_render import IncludingSandbox
from tests.waiting import wait_until

pytestmark = pytest.mark.system
SECRET = "iax-trunk-secret-" + "5f3c9a1e2b7d4c60"


class TrunkSandbox(IncludingSandbox):
    """Also #includes the rendered iax_hotline.conf as the whole of iax.conf, with the IAX2 driver."""

    def render(self) -> Path:
        conf = super().render()
        etc = self.params.base_dir / "etc"
        (etc / "iax.conf").write_text(f"#include {self.include_dir}/iax_hotline.conf\n")
        with (etc / "modules.conf").open("a") as f:
            f.write("load => res_crypto.so\nload => chan_iax2.so\n")
        return conf


def _render(settings: Settings, server: str, out: Path, sb: Sandbox, capsys) -> None:
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(
        ["asterisk", "render", "--out", str(out), "--server", server, "--iax-bind", "127.0.0.1",
         "--sip-bind", "127.0.0.1", "--sip-port", str(sb.params.sip_port), "--data-dir", str(out.parent / "data"),
         "--agi-host", "127.0.0.1"]
    )  # fmt: skip
    assert args.fn(args, settings) == 0
    printed = capsys.readouterr()
    assert SECRET not in printed.out + printed.err
    assert (out / "iax_hotline.conf").stat().st_mode & 0o777 == 0o600


async def test_two_rendered_servers_see_each_others_trunk_and_a_transfer_call_crosses(tmp_path, capsys):
    require("asterisk")
    cfg = load_config()
    prefectures = [p.code for p in cfg.prefectures]
    sbs = {}
    for name in ("prefecture", "province"):
        sb = Sandbox.on_loopback(cfg, tmp_path / name / "ast", server_name=name)
        sb.__class__ = TrunkSandbox
        sb.include_dir = tmp_path / name / "conf"  # type: ignore[attr-defined]
        sbs[name] = sb
    ports = {name: free_port(kind=socket.SOCK_DGRAM) for name in sbs}
    settings = Settings(
        var_dir=tmp_path / "var", iax_secret=SECRET, agi_port=sbs["prefecture"].params.agi_port,
        asterisk=[
            AsteriskServer(name=name, ami_port=sb.params.ami_port, ami_secret=sb.params.ami_secret,
                           platforms=prefectures if name == "prefecture" else ["province"],
                           iax_host="127.0.0.1", iax_port=ports[name])
            for name, sb in sbs.items()
        ],
    )  # fmt: skip
    for name, sb in sbs.items():
        _render(settings, name, sb.include_dir, sb, capsys)  # type: ignore[attr-defined]

    started = []
    try:
        for sb in sbs.values():
            sb.start()
            started.append(sb)
        for name, sb in sbs.items():
            other = "province" if name == "prefecture" else "prefecture"
            peers = await wait_until(
                lambda sb=sb: sb.cli("iax2 show peers"), 30, f"{name} to see {other} reachable",
                check=lambda out, other=other: any(ln.startswith(other) and " OK " in ln for ln in out.splitlines()),
            )  # fmt: skip
            assert "127.0.0.1" in peers, peers
            assert SECRET not in peers

        # what a cross-server transfer to the province's queue dials: the queue's index, then the row
        prov = sbs["province"].params
        index = cfg.all_queues().index("q-province")
        watch_server = AsteriskServer(name="province", ami_port=prov.ami_port, ami_secret=prov.ami_secret)
        pref = sbs["prefecture"].params
        pref_server = AsteriskServer(name="prefecture", ami_port=pref.ami_port, ami_secret=pref.ami_secret)
        async with AmiWatch(SimpleNamespace(server=watch_server)) as watch, \
                AmiWatch(SimpleNamespace(server=pref_server)) as sender:  # fmt: skip
            await sender.conn.action({"Action": "Originate", "Channel": f"IAX2/province/{index:02d}4242",
                                      "Application": "Wait", "Data": "20", "Async": "true"})  # fmt: skip
            arrived = await watch.wait_for(
                lambda e: e.get("UserEvent") == "HotlineTransfer" and e.get("Row") == "4242", 30
            )
            assert arrived["Status"] == "arrived" and arrived["Channel"].startswith("IAX2/prefecture"), arrived
    finally:
        for sb in reversed(started):
            sb.stop()
