"""Renders a complete private Asterisk configuration from the platform configuration.

Every listener is bound to 127.0.0.1 by default (AMI, PJSIP transport, RTP media). The dialplan
never strands a caller: when the FastAGI step fails (AGISTATUS != SUCCESS) or sets no route, the
call goes to the default queue.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from asterisk_conf.dialplan import extensions_conf
from callflow import HotlineConfig
from ivr import prompts

MODULES = """
res_pjproject res_sorcery_config res_sorcery_memory res_sorcery_astdb res_sorcery_realtime
res_pjsip res_pjsip_session res_pjsip_pubsub chan_pjsip res_pjsip_authenticator_digest
res_pjsip_endpoint_identifier_user res_pjsip_endpoint_identifier_ip res_pjsip_registrar
res_pjsip_outbound_authenticator_digest res_pjsip_sdp_rtp res_pjsip_dtmf_info res_pjsip_caller_id
res_pjsip_nat res_pjsip_rfc3326 res_pjsip_acl res_rtp_asterisk
res_timing_timerfd res_musiconhold res_speech res_agi res_clioriginate res_convert
app_queue app_dial app_playback app_record app_exec app_userevent app_senddtmf app_read app_stack
app_mixmonitor app_chanspy app_echo app_verbose app_playtones app_originate app_waituntil
pbx_config func_logic func_strings func_callerid func_channel func_cut func_global func_devstate
func_timeout codec_ulaw codec_alaw codec_gsm codec_resample format_wav format_pcm format_gsm format_sln
bridge_simple bridge_native_rtp bridge_softmix bridge_holding cdr_csv
""".split()


# The AMI events the backend consumes (app/telephony/subscriptions.py and listeners such as the
# survey/call-back originators). Rendered as an eventfilter whitelist: Asterisk then does not send the
# flood of Newchannel/Newstate/... events that would cost every AMI client CPU at high call rates.
# Responses to list actions (QueueStatus, CoreShowChannels) are not filtered.
AMI_EVENTS = (
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "AgentCalled",
    "AgentConnect",
    "AgentComplete",
    "AgentRingNoAnswer",
    "AgentDump",
    "QueueMemberStatus",
    "QueueMemberAdded",
    "QueueMemberRemoved",
    "QueueMemberPause",
    "QueueMemberPaused",
    "QueueMemberPenalty",
    "UserEvent",
    "Hangup",
    "OriginateResponse",
    "DialBegin",
    "DialEnd",
    "BridgeEnter",
    "BridgeLeave",
    "FullyBooted",
    "Shutdown",
    "Reload",
    "ContactStatus",
)


@dataclass
class SipAgent:
    endpoint: str  # e.g. agent-1001
    password: str
    context: str = "hotline-agents"


@dataclass
class RenderParams:
    base_dir: Path
    ami_port: int = 5038
    ami_user: str = "hotline"
    ami_secret: str = "change-me"
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    sip_port: int = 5060
    bind_address: str = "127.0.0.1"
    rtp_start: int = 20000
    rtp_end: int = 20999
    server_name: str = "main"
    agents: list[SipAgent] = field(default_factory=list)
    voicemail_max_s: int = 120  # longest message recorded locally when the backend is down
    sim_audio_dir: Path | None = None  # where simulation audio lives (tests, `hotline call --play`)


def _directories(p: RenderParams) -> dict[str, Path]:
    b = p.base_dir
    return {
        "astetcdir": b / "etc",
        "astrundir": b / "run",
        "astspooldir": b / "spool",
        "astlogdir": b / "log",
        "astvarlibdir": b / "lib",
        "astdbdir": b / "db",
        "astkeydir": b / "keys",
        "astcachedir": b / "cache",
        "astagidir": b / "agi-bin",
    }


def asterisk_conf(p: RenderParams) -> str:
    dirs = "\n".join(f"{k} => {v}" for k, v in _directories(p).items())
    return f"""[directories]
{dirs}
astmoddir => /usr/lib/asterisk/modules
astdatadir => /usr/share/asterisk
astsbindir => /usr/sbin

[options]
entityid = 02:00:00:12:34:50
transmit_silence = yes
verbose = 1
debug = 0
cache_record_files = no
highpriority = no
"""


def modules_conf() -> str:
    loads = "\n".join(f"load => {m}.so" for m in MODULES)
    return f"[modules]\nautoload = no\n{loads}\n"


def manager_conf(p: RenderParams) -> str:
    return f"""[general]
enabled = yes
port = {p.ami_port}
bindaddr = {p.bind_address}
displayconnects = no
timestampevents = no

[{p.ami_user}]
secret = {p.ami_secret}
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = system,call,agent,user,command,originate
write = system,call,agent,user,command,originate
eventfilter = Event: ({"|".join(AMI_EVENTS)})
"""


def pjsip_conf(p: RenderParams) -> str:
    out = [
        f"""[transport-udp]
type = transport
protocol = udp
bind = {p.bind_address}:{p.sip_port}
"""
    ]
    for a in p.agents:
        out.append(f"""[{a.endpoint}]
type = endpoint
context = {a.context}
disallow = all
allow = ulaw,alaw
auth = {a.endpoint}
aors = {a.endpoint}
media_address = {p.bind_address}
bind_rtp_to_media_address = yes
rtp_symmetric = yes
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
qualify_frequency = 0
""")
    return "\n".join(out)


def queues_conf(cfg: HotlineConfig) -> str:
    out = [
        """[general]
persistentmembers = no
shared_lastcall = yes
log_membername_as_agent = yes
"""
    ]
    for q in cfg.all_queues():
        out.append(f"""[{q}]
strategy = rrmemory
timeout = 15
retry = 2
wrapuptime = 0
ringinuse = no
joinempty = yes
leavewhenempty = no
announce-holdtime = no
announce-position = no
reportholdtime = no
setinterfacevar = yes
setqueuevar = yes
""")
    return "\n".join(out)


def render(cfg: HotlineConfig, p: RenderParams) -> Path:
    """Writes the configuration into p.base_dir/etc (and the prompts into p.base_dir/sounds)."""
    dirs = _directories(p)
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    (p.base_dir / "sounds").mkdir(exist_ok=True)
    (p.base_dir / "spool" / "orphan-voicemail").mkdir(parents=True, exist_ok=True)
    (dirs["astlogdir"] / "cdr-csv").mkdir(parents=True, exist_ok=True)
    etc = dirs["astetcdir"]
    files = {
        "asterisk.conf": asterisk_conf(p),
        "modules.conf": modules_conf(),
        "manager.conf": manager_conf(p),
        "pjsip.conf": pjsip_conf(p),
        "queues.conf": queues_conf(cfg),
        "extensions.conf": extensions_conf(cfg, p),
        "logger.conf": "[general]\n[logfiles]\nmessages => notice,warning,error,verbose\n",
        "rtp.conf": f"[general]\nrtpstart = {p.rtp_start}\nrtpend = {p.rtp_end}\n",
        "musiconhold.conf": "[general]\n[default]\nmode = files\ndirectory = "
        + str(p.base_dir / "sounds")
        + "\n",
        # cdr_csv reads its options from cdr.conf's [csv] section (Asterisk 16)
        "cdr.conf": "[general]\nenable = yes\nunanswered = yes\n\n[csv]\nusegmtime = yes\nloguniqueid = yes\n"
        "loguserfield = yes\naccountlogs = no\n",
        "indications.conf": "[general]\ncountry = cn\n[cn]\ndescription = China\nringcadence = 1000,4000\n"
        "dial = 450\nbusy = 450/350,0/350\nring = 450/1000,0/4000\n"
        "congestion = 450/700,0/700\ncallwaiting = 450/400,0/4000\n",
    }
    for name in (
        "features.conf",
        "cel.conf",
        "ccss.conf",
        "udptl.conf",
        "acl.conf",
        "pjproject.conf",
        "sorcery.conf",
        "res_stun_monitor.conf",
        "stasis.conf",
        "hep.conf",
        "statsd.conf",
        "smdi.conf",
        "dnsmgr.conf",
        "enum.conf",
        "http.conf",
    ):
        files.setdefault(name, "")
    for name, text in files.items():
        (etc / name).write_text(text, encoding="utf-8")
    for pid in prompts.PROMPTS:
        src = prompts.path(pid)
        if src.exists():
            shutil.copyfile(src, p.base_dir / "sounds" / src.name)
    return etc / "asterisk.conf"
