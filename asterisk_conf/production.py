"""Configuration for a REAL Asterisk (`hotline asterisk render --out DIR`): files an operator
`#include`s from /etc/asterisk, never a whole Asterisk of our own (that is the sandbox).

Written into DIR:
  manager_hotline.conf     the backend's AMI user (no [general]: the operator's manager.conf has it)
  pjsip_hotline.conf       transport, agents' softphones, carrier trunks (registration / IP-auth)
  extensions_hotline.conf  the hotline dialplan; call-backs leave through the outbound trunk
  queues_hotline.conf      one queue per platform queue, and its skill queues
  queuerules_hotline.conf  the skill queues' fallback rule (callflow/skills.py)
  iax_hotline.conf         the IAX2 trunk to the other hotline servers (only when configured; secret)
(every .conf 0600 in a 0700 directory: the first two hold secrets, and the dialplan will carry the
FastAGI credentials too; the operator makes them the asterisk user's)
  sounds/*.wav             the IVR prompts (install under data_dir/sounds)
  README.txt               the #include lines and where each piece goes

Two trunk styles, as carriers offer them in China (SIP 中继):
- registration: Asterisk registers to the carrier with a username/password; calls from the carrier's
  address are identified by `match`;
- ip: no registration; the carrier sends from fixed addresses (`match`) that alone identify it, and
  calls to it go to host:port.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from asterisk_conf.dialplan import extensions_conf
from asterisk_conf.render import RenderParams, SipAgent, manager_conf, queuerules_conf, queues_conf
from callflow import HotlineConfig, skills
from ivr import prompts

SIM_CONTEXTS = ("hotline-sim-", "hotline-bench-")


@dataclass
class CarrierTrunk:
    name: str
    mode: str  # "registration" | "ip"
    host: str  # the carrier's SIP server (an address: no DNS at start-up)
    port: int = 5060
    username: str = ""
    password: str = ""
    match: list[str] = field(default_factory=list)  # addresses/subnets calls from the carrier come from
    platform_trunk: str | None = (
        None  # a trunk id of the platform config (region by trunk); None: hotline-inbound
    )
    outbound: bool = False  # call-backs and surveys leave through this trunk
    codecs: str = "alaw,ulaw"

    @property
    def inbound_context(self) -> str:
        return f"trunk-in-{self.platform_trunk}" if self.platform_trunk else "hotline-inbound"


@dataclass
class IaxTrunkPeer:
    """Another hotline Asterisk at the end of the IAX2 trunk: transfers dial IAX2/<name>/<exten>, so
    ``name`` is that server's name in the settings (asterisk[].name)."""

    name: str
    host: str  # where this server reaches the peer's IAX2 (asterisk[].iax_host)
    port: int = 4569


@dataclass
class ProductionParams:
    data_dir: Path = Path(
        "/var/lib/hotline/asterisk"
    )  # prompts in data_dir/sounds, orphans in data_dir/spool
    sip_bind: str = "0.0.0.0"
    sip_port: int = 5060
    external_address: str | None = None  # public address behind NAT (external_media/signaling_address)
    local_net: list[str] = field(default_factory=list)
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    agi_secret: str = ""  # the key every FastAGI call passes (the backend's asterisk[].agi_secret)
    ami_user: str = "hotline"
    ami_secret: str = ""
    ami_permit: list[str] = field(default_factory=lambda: ["127.0.0.1/32"])  # where the backend connects from
    server_name: str = "main"
    voicemail_max_s: int = 120
    agents: list[SipAgent] = field(default_factory=list)
    trunks: list[CarrierTrunk] = field(default_factory=list)
    # the queues this server holds (its platforms'); None: every queue (one Asterisk for all). Queue
    # names stay unique across servers, so the backend's live state keeps them apart.
    queues: tuple[str, ...] | None = None
    # the IAX2 trunk between the hotline's servers; None: no trunk (no iax_hotline.conf)
    iax_port: int | None = None
    iax_bind: str = "0.0.0.0"
    iax_secret: str = ""  # shared by every server of the deployment (settings.iax_secret)
    iax_peers: list[IaxTrunkPeer] = field(default_factory=list)


def fallback_queue(cfg: HotlineConfig, p: ProductionParams) -> str:
    """Where this server's dialplan sends a call when FastAGI fails: the default queue if it holds it,
    else its own first queue (a queue on another server cannot be joined from here)."""
    if p.queues is None or cfg.default_queue in p.queues:
        return cfg.default_queue
    if not p.queues:
        raise ValueError(f"server {p.server_name} holds no queue")
    return p.queues[0]


_SECTION = re.compile(r"^\[([^\]]+)\]", re.M)


def _sections(text: str) -> list[tuple[str, str]]:
    marks = list(_SECTION.finditer(text))
    head = text[: marks[0].start()] if marks else text
    out = [("", head)]
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        out.append((m.group(1), text[m.start() : end]))
    return out


def _outbound(p: ProductionParams) -> str:
    trunk = next((t for t in p.trunks if t.outbound), None)
    if trunk is None:
        return ("[hotline-outbound]\n; no outbound trunk configured: call-backs cannot leave this Asterisk\n"
                "exten => _X.,1,Congestion(5)\n\n")  # fmt: skip
    return (f"[hotline-outbound]\n; call-backs and satisfaction surveys to citizens leave through {trunk.name}\n"
            f"exten => _X.,1,Dial(PJSIP/${{EXTEN}}@{trunk.name},60)\n same => n,Hangup()\n\n")  # fmt: skip


def dialplan(cfg: HotlineConfig, p: ProductionParams) -> str:
    rp = RenderParams(base_dir=p.data_dir, agi_host=p.agi_host, agi_port=p.agi_port, server_name=p.server_name,
                      voicemail_max_s=p.voicemail_max_s, agi_secret=p.agi_secret)  # fmt: skip
    out = []
    fallback = fallback_queue(cfg, p)
    platform = cfg.platform_for_queue(fallback)
    default_platform = cfg.platform_for_queue(cfg.default_queue) or cfg.province_platform
    for name, body in _sections(extensions_conf(cfg, rp)):
        if name.startswith(SIM_CONTEXTS):
            continue
        if name == "globals":
            body = (
                "\n".join(line for line in body.splitlines() if not line.startswith("HOTLINE_SIM_AUDIO"))
                + "\n\n"
            )
        if name == "hotline-outbound":
            body = _outbound(p)
        if fallback != cfg.default_queue:
            if name == "globals":
                body = body.replace(f"HOTLINE_DEFAULT_QUEUE={cfg.default_queue}\n", f"HOTLINE_DEFAULT_QUEUE={fallback}\n")
            if name == "hotline-inbound" and platform is not None:
                body = body.replace(
                    f"Set(HOTLINE_PLATFORM={default_platform.code})\n", f"Set(HOTLINE_PLATFORM={platform.code})\n"
                )
        out.append(body)
    return "".join(out).replace(
        "; Rendered by asterisk_conf/render.py", "; Rendered by `hotline asterisk render`"
    )


def manager(p: ProductionParams) -> str:
    rp = RenderParams(base_dir=p.data_dir, ami_user=p.ami_user, ami_secret=p.ami_secret)
    user = [body for name, body in _sections(manager_conf(rp)) if name == p.ami_user][0]
    lines = [ln for ln in user.splitlines() if not ln.startswith("permit")]
    at = next(i for i, ln in enumerate(lines) if ln.startswith("deny")) + 1
    lines[at:at] = [f"permit = {net if '/' in net else net + '/32'}" for net in p.ami_permit]
    return "; the backend's AMI user; include from manager.conf (its [general] must set enabled = yes)\n" + (
        "\n".join(lines) + "\n"
    )


def pjsip(p: ProductionParams) -> str:
    nat = ""
    if p.external_address:
        nat = f"external_media_address = {p.external_address}\nexternal_signaling_address = {p.external_address}\n"
        nat += "".join(f"local_net = {n}\n" for n in p.local_net)
    out = [f"[hotline-transport]\ntype = transport\nprotocol = udp\nbind = {p.sip_bind}:{p.sip_port}\n{nat}"]
    for a in p.agents:
        out.append(f"""[{a.endpoint}]
type = endpoint
transport = hotline-transport
context = {a.context}
disallow = all
allow = alaw,ulaw
auth = {a.endpoint}
aors = {a.endpoint}
rtp_symmetric = yes
force_rport = yes
rewrite_contact = yes
direct_media = no
dtmf_mode = rfc4733

[{a.endpoint}]
type = auth
auth_type = userpass
username = {a.endpoint}
password = {a.password}

[{a.endpoint}]
type = aor
max_contacts = 1
remove_existing = yes
""")
    for t in p.trunks:
        uri = f"sip:{t.host}:{t.port}"
        auth = f"outbound_auth = {t.name}-auth\n" if t.mode == "registration" else ""
        from_user = f"from_user = {t.username}\nfrom_domain = {t.host}\n" if t.username else ""
        out.append(f"""; carrier trunk {t.name}: {"registers with a username and password" if t.mode == "registration"
                     else "IP-authenticated (no registration)"}
[{t.name}]
type = endpoint
transport = hotline-transport
context = {t.inbound_context}
disallow = all
allow = {t.codecs}
aors = {t.name}
{auth}{from_user}direct_media = no
rtp_symmetric = yes
force_rport = yes
rewrite_contact = yes
dtmf_mode = rfc4733
trust_id_inbound = yes
send_pai = yes

[{t.name}]
type = aor
contact = {uri}
qualify_frequency = 60

[{t.name}]
type = identify
endpoint = {t.name}
{"".join(f"match = {m}{chr(10)}" for m in (t.match or [t.host]))}""")  # fmt: skip
        if t.mode == "registration":
            out.append(f"""[{t.name}-auth]
type = auth
auth_type = userpass
username = {t.username}
password = {t.password}

[{t.name}]
type = registration
transport = hotline-transport
outbound_auth = {t.name}-auth
server_uri = {uri}
client_uri = sip:{t.username}@{t.host}:{t.port}
contact_user = {t.username}
retry_interval = 60
forbidden_retry_interval = 600
expiration = 3600
line = yes
endpoint = {t.name}
""")
    return "\n".join(out)


def _permit(host: str) -> str:
    """Only the peer's own address may use its account (when ``host`` is an address, not a name)."""
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return ""
    return f"deny = 0.0.0.0/0.0.0.0\npermit = {addr}/255.255.255.255\n"


def iax(p: ProductionParams) -> str:
    """The IAX2 trunk to the other hotline servers: a call arriving on it is a transfer from the other
    server and enters [hotline-trunk-in] (asterisk_conf/transfer.py); each server knows the others by
    their server names and authenticates as its own (md5 challenge: the secret never travels)."""
    if not p.iax_port:
        raise ValueError("no IAX2 trunk configured")
    out = [f"""; the IAX2 trunk between the hotline's Asterisk servers ({p.server_name} here): live transfers
; to a queue or a colleague on another server cross it. Rendered by `hotline asterisk render`.
[general]
bindport = {p.iax_port}
bindaddr = {p.iax_bind}
disallow = all
allow = alaw,ulaw
jitterbuffer = no
autokill = yes
delayreject = yes
"""]
    for peer in p.iax_peers:
        out.append(f"""[{peer.name}]
type = friend
host = {peer.host}
port = {peer.port}
username = {p.server_name}
secret = {p.iax_secret}
auth = md5
context = hotline-trunk-in
{_permit(peer.host)}qualify = yes
trunk = no
transfer = no
""")
    return "\n".join(out)


README = """Hotline 12345 — Asterisk configuration for {host_note}

Copy this directory to /etc/asterisk/hotline/ (owner asterisk, mode 0700; every *.conf stays 0600:
  install -d -o asterisk -g asterisk -m 0700 /etc/asterisk/hotline
  install -o asterisk -g asterisk -m 0600 *.conf /etc/asterisk/hotline/ )
and add these lines:

  /etc/asterisk/manager.conf     #include hotline/manager_hotline.conf
  /etc/asterisk/pjsip.conf       #include hotline/pjsip_hotline.conf
  /etc/asterisk/extensions.conf  #include hotline/extensions_hotline.conf
  /etc/asterisk/queues.conf      #include hotline/queues_hotline.conf
  /etc/asterisk/queuerules.conf  #include hotline/queuerules_hotline.conf
{iax_note}
Install the prompts: cp sounds/*.wav {data_dir}/sounds/   (the dialplan plays them from there)
Create the local-voicemail spool: install -d -o asterisk {data_dir}/spool/orphan-voicemail
(the backend imports messages recorded there while it was down: set HOTLINE_SANDBOX_DIR={data_dir}).

Modules needed besides the usual: res_agi, app_queue, res_pjsip_outbound_registration (registration
trunks), func_strings, app_userevent, app_mixmonitor{iax_modules}. Then: asterisk -rx "core reload".
Check: asterisk -rx "pjsip show endpoints"; asterisk -rx "pjsip show registrations";
       asterisk -rx "dialplan show hotline-inbound"; asterisk -rx "manager show user {ami_user}"{iax_check}
"""

IAX_NOTE = """  /etc/asterisk/iax.conf         #include hotline/iax_hotline.conf
      (the whole of iax.conf: IAX2 carries only the trunk between the hotline's servers; it has the
      [general] section. Open UDP {port} to the other servers only.)
"""


def render_production(cfg: HotlineConfig, p: ProductionParams, out: Path) -> list[Path]:
    """Writes the include files into `out` (mode 0700); returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)
    files = {
        "manager_hotline.conf": manager(p),
        "pjsip_hotline.conf": pjsip(p),
        "extensions_hotline.conf": dialplan(cfg, p),
        "queues_hotline.conf": "\n".join(
            body
            for name, body in _sections(queues_conf(cfg))
            if name != "general" and (p.queues is None or skills.base_queue(name) in p.queues)
        ),
        # the skill queues' rule (agents without the skill after the wait): include it from queuerules.conf
        "queuerules_hotline.conf": "\n".join(
            body for name, body in _sections(queuerules_conf(cfg)) if name != "general"
        ),
        "README.txt": README.format(
            host_note=p.server_name, data_dir=p.data_dir, ami_user=p.ami_user,
            iax_note=IAX_NOTE.format(port=p.iax_port) if p.iax_port else "",
            iax_modules=", chan_iax2 (the trunk between servers)" if p.iax_port else "",
            iax_check='\n       asterisk -rx "iax2 show peers"   (each other server: OK)' if p.iax_port else "",
        ),
    }  # fmt: skip
    if p.iax_port:
        files["iax_hotline.conf"] = iax(p)
    written = []
    for name, text in files.items():
        path = out / name
        mode = 0o600 if name.endswith(".conf") else 0o644
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(path, mode)
        written.append(path)
    sounds = out / "sounds"
    sounds.mkdir(exist_ok=True)
    for pid in prompts.PROMPTS:
        src = prompts.path(pid)
        if src.exists():
            shutil.copyfile(src, sounds / src.name)
    return written
