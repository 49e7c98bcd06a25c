"""`hotline asterisk render --out DIR`: the configuration a real Asterisk includes (see
asterisk_conf/production.py and docs/operations.md). Secrets (AMI secret, trunk and softphone
passwords) come from the settings; the files holding them are written 0600."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.settings import Settings

EXAMPLES = [
    # documentation addresses (RFC 5737); replace with what the carrier gives you
    dict(name="carrier-reg", mode="registration", host="203.0.113.10", port=5060, username="087112345",
         password="CHANGE-ME-carrier-password", match=["203.0.113.10"], outbound=True),
    dict(name="carrier-ip", mode="ip", host="198.51.100.20", port=5060,
         match=["198.51.100.20", "198.51.100.0/28"], platform_trunk=None),
]  # fmt: skip


def render(args: argparse.Namespace, settings: Settings) -> int:
    from asterisk_conf.production import CarrierTrunk, IaxTrunkPeer, ProductionParams, render_production
    from asterisk_conf.render import SipAgent
    from callflow import load_config

    by_name = {a.name: a for a in settings.asterisk}
    if args.server is not None and args.server not in by_name:
        print(f"no Asterisk server named {args.server!r} in the settings (asterisk: {', '.join(by_name)})",
              file=sys.stderr)  # fmt: skip
        return 2
    server = by_name[args.server] if args.server is not None else settings.asterisk[0]
    if not server.ami_secret:
        print("no AMI secret configured: set HOTLINE_ASTERISK='[{\"ami_secret\": \"…\"}]' or the config file's "
              "asterisk list (the same secret the backend logs in with)", file=sys.stderr)  # fmt: skip
        return 2
    trunks = [CarrierTrunk(**t.model_dump()) for t in settings.carrier_trunks]
    if args.example_trunks:
        trunks += [CarrierTrunk(**t) for t in EXAMPLES]  # type: ignore[arg-type]
    for t in trunks:
        if t.mode == "registration" and not (t.username and t.password):
            print(f"trunk {t.name}: a registration trunk needs username and password", file=sys.stderr)
            return 2
    cfg = load_config(settings.platform_config, holiday_dir=settings.holiday_dir)
    queues = None
    if server.platforms:  # several Asterisk servers: this one holds its platforms' queues only
        known = {p.code: p for p in cfg.platforms}
        unknown = [c for c in server.platforms if c not in known]
        if unknown:
            print(f"server {server.name}: unknown platform(s) {', '.join(unknown)} (the platform config has "
                  f"{', '.join(known)})", file=sys.stderr)  # fmt: skip
            return 2
        queues = tuple(q for c in server.platforms for q in known[c].queues)
    peers = [IaxTrunkPeer(a.name, a.iax_host, a.iax_port) for a in settings.asterisk
             if a.iax_host and a.name != server.name]  # fmt: skip
    if server.iax_host and len(settings.iax_secret) < 16:
        print(f"server {server.name} has an IAX2 trunk (iax_host) but no iax_secret of 16 characters or more: "
              "set HOTLINE_IAX_SECRET or the config file's iax_secret (the same on every server)",
              file=sys.stderr)  # fmt: skip
        return 2
    params = ProductionParams(
        data_dir=Path(args.data_dir), sip_bind=args.sip_bind, sip_port=args.sip_port,
        external_address=args.external_address, local_net=args.local_net or [],
        agi_host=args.agi_host or settings.agi_host, agi_port=settings.agi_port, agi_secret=server.agi_secret,
        ami_user=server.ami_user, ami_secret=server.ami_secret, ami_permit=args.ami_permit or ["127.0.0.1/32"],
        server_name=server.name, voicemail_max_s=settings.voicemail_max_s,
        agents=[SipAgent(a.endpoint, a.password) for a in settings.sip_agents], trunks=trunks, queues=queues,
        iax_port=server.iax_port if server.iax_host else None, iax_bind=args.iax_bind,
        iax_secret=settings.iax_secret, iax_peers=peers,
    )  # fmt: skip
    written = render_production(cfg, params, Path(args.out))
    for p in written:
        print(f"{p}  ({oct(p.stat().st_mode & 0o777)})")
    if not server.agi_secret:
        print("warning: no FastAGI key configured (asterisk[].agi_secret): the backend then accepts FastAGI "
              "from the Asterisk address without a key", file=sys.stderr)  # fmt: skip
    if not trunks:
        print(
            "warning: no carrier trunk configured (HOTLINE_CARRIER_TRUNKS); see --example-trunks",
            file=sys.stderr,
        )
    if server.iax_host and not peers:
        print(f"warning: server {server.name} has an IAX2 trunk but no other server has an iax_host",
              file=sys.stderr)  # fmt: skip
    elif not server.iax_host and len(settings.asterisk) > 1:
        print(f"warning: server {server.name} has no iax_host: transfers to and from the other servers "
              "cannot cross a trunk", file=sys.stderr)  # fmt: skip
    print(f"next: read {Path(args.out) / 'README.txt'}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    a = sub.add_parser("asterisk", help="configuration for a real Asterisk")
    asub = a.add_subparsers(dest="action", required=True)
    r = asub.add_parser("render", help="write the files a production Asterisk #includes")
    r.add_argument("--out", required=True, help="directory to write (created 0700)")
    r.add_argument(
        "--server", default=None,
        help="which configured Asterisk server (asterisk[].name; default the first): only its platforms' queues",
    )  # fmt: skip
    r.add_argument(
        "--data-dir", default="/var/lib/hotline/asterisk", help="prompts and local voicemail spool"
    )
    r.add_argument("--sip-bind", default="0.0.0.0", help="address the PJSIP transport binds")
    r.add_argument("--sip-port", type=int, default=5060)
    r.add_argument("--external-address", default=None, help="public address when Asterisk is behind NAT")
    r.add_argument("--local-net", action="append", help="private networks (with --external-address)")
    r.add_argument("--agi-host", default=None, help="where Asterisk reaches the backend's FastAGI")
    r.add_argument("--iax-bind", default="0.0.0.0", help="address the IAX2 trunk between servers binds")
    r.add_argument("--ami-permit", action="append", help="address/net the backend connects to AMI from")
    r.add_argument("--example-trunks", action="store_true", help="add a registration and an IP-auth example")
    r.set_defaults(fn=render)
