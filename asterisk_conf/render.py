"""Renders a complete private Asterisk configuration from the platform configuration.

Every listener is bound to 127.0.0.1 by default (AMI, PJSIP transport, RTP media). The dialplan
never strands a caller: when the FastAGI step fails (AGISTATUS != SUCCESS) or sets no route, the
call goes to the default queue.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from asterisk_conf.ami_rights import AMI_EVENTS, AMI_READ, AMI_WRITE
from asterisk_conf.dialplan import extensions_conf
from callflow import HotlineConfig, skills
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
bridge_simple bridge_native_rtp bridge_softmix bridge_holding cdr_csv chan_rtp res_rtp_multicast
""".split()


# The AMI events the backend consumes (app/telephony/subscriptions.py and listeners such as the
# survey/call-back originators). Rendered as an eventfilter whitelist: Asterisk then does not send the
# flood of Newchannel/Newstate/... events that would cost every AMI client CPU at high call rates.
@dataclass
class SipAgent:
    endpoint: str  # e.g. agent-1001
    password: str
    context: str = "hotline-agents"


@dataclass
class IaxPeer:
    """The other Asterisk at the end of an IAX2 trunk (a prefecture's server and the province's)."""

    name: str  # the peer's name here, e.g. "province"; dialled as IAX2/<name>/<exten>
    port: int  # the peer's IAX2 port on 127.0.0.1
    secret: str
    username: str  # the name this server has in the peer's iax.conf


@dataclass
class RenderParams:
    base_dir: Path
    ami_port: int = 5038
    ami_user: str = "hotline"
    ami_secret: str = "change-me"
    agi_secret: str = ""  # passed as the last argument of every FastAGI call (agi_handlers.guard)
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
    bench_sip: bool = False  # benchmarks only: accept SIPp's INVITEs (header X-Hotline-Bench) into hotline-bench-sip
    iax_port: int | None = None  # IAX2 trunk listener (two-server deployments); None = no trunk
    iax_peers: list[IaxPeer] = field(default_factory=list)
    system_name: str | None = None  # prefixes every uniqueid: two servers' call ids never collide
    # sandbox only: citizens' numbers whose phone is a softphone registered here (number -> endpoint)
    citizen_phones: dict[str, str] = field(default_factory=dict)
    call_recordings_dir: Path | None = None  # MixMonitor of every answered agent call; None: base_dir/monitor
    # the queues this server holds (several servers: its platforms' queues); None: every queue
    queues: tuple[str, ...] | None = None

    @property
    def callrec_dir(self) -> Path:
        return self.call_recordings_dir or self.base_dir / "monitor"


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
    system = f"systemname = {p.system_name}\n" if p.system_name else ""
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
{system}"""


def modules_conf(p: RenderParams | None = None) -> str:
    extra = ["res_crypto", "chan_iax2"] if p is not None and p.iax_port else []
    loads = "\n".join(f"load => {m}.so" for m in MODULES + extra)
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
read = {",".join(AMI_READ)}
write = {",".join(AMI_WRITE)}
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
    if p.bench_sip:
        out.append(f"""[bench-sipp]
; benchmarks only (bench/sip_load_bench.py): SIPp's INVITEs, recognised by a header, never by address
type = endpoint
context = hotline-bench-sip
disallow = all
allow = ulaw
media_address = {p.bind_address}
rtp_symmetric = yes
direct_media = no

[bench-sipp]
type = identify
endpoint = bench-sipp
match_header = X-Hotline-Bench: sipp
""")
    return "\n".join(out)


def iax_conf(p: RenderParams) -> str:
    """The IAX2 trunk to the other server(s): loopback only, one secret per direction; calls arriving
    on it enter [hotline-trunk-in] (a transfer from the other server)."""
    if not p.iax_port:
        return "[general]\nbindport = 0\n"
    out = [f"""[general]
bindport = {p.iax_port}
bindaddr = {p.bind_address}
disallow = all
allow = ulaw
jitterbuffer = no
calltokenoptional = 127.0.0.1/255.255.255.255
autokill = yes
"""]
    for peer in p.iax_peers:
        out.append(f"""[{peer.name}]
type = friend
host = {p.bind_address}
port = {peer.port}
username = {peer.username}
secret = {peer.secret}
auth = md5
context = hotline-trunk-in
requirecalltoken = no
qualify = no
trunk = no
""")
    return "\n".join(out)


def queues_conf(cfg: HotlineConfig, only: tuple[str, ...] | None = None) -> str:
    out = [
        """[general]
persistentmembers = no
shared_lastcall = yes
log_membername_as_agent = yes
"""
    ]
    skill_queues = cfg.skill_queues()
    for q in cfg.all_queues() + skill_queues:
        if only is not None and skills.base_queue(q) not in only:
            continue
        rule = f"defaultrule = {skills.RULE}\n" if q in skill_queues else ""
        out.append(f"""[{q}]
{rule}strategy = rrmemory
; every waiting caller is offered to a free agent at once (Asterisk 16 defaults to no: only the head
; of the queue rings, the others wait for that ring to be answered or time out)
autofill = yes
timeout = 15
retry = 2
ringinuse = no
joinempty = yes
leavewhenempty = no
announce-holdtime = no
announce-position = no
reportholdtime = no
setinterfacevar = yes
setqueuevar = yes
; every answered call is recorded (docs/adr/2026-12-02-call-recording.md): MixMonitor on the caller's
; channel from the moment an agent answers, into MONITOR_FILENAME (set by [hotline-queue]) + .wav
monitor-type = MixMonitor
monitor-format = wav
wrapuptime = {cfg.wrapup_for_queue(q)}
""")
    return "\n".join(out)


def queuerules_conf(cfg: HotlineConfig) -> str:
    """The skill queues' rule: after the configured wait, agents without the skill may answer too."""
    after = cfg.skills.fallback_after_s
    return f"""[general]
realtime_rules = no

[{skills.RULE}]
; a skill call joins with QUEUE_MAX_PENALTY={skills.SKILLED_MAX_PENALTY} (skilled agents only); after {after} s, everyone
penaltychange => {after},{skills.UNSKILLED_PENALTY}
"""


def check_prompts(cfg: HotlineConfig) -> None:
    """Every notice the hotlines configuration names must be a known prompt (ivr.prompts.PROMPTS)."""
    missing = sorted(n for n in cfg.hotlines.notices() if n not in prompts.PROMPTS)
    if missing:
        raise ValueError(f"hotlines name notices with no prompt: {missing} (add them to ivr/prompts.py)")


def render(cfg: HotlineConfig, p: RenderParams) -> Path:
    """Writes the configuration into p.base_dir/etc (and the prompts into p.base_dir/sounds)."""
    check_prompts(cfg)
    dirs = _directories(p)
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    (p.base_dir / "sounds").mkdir(exist_ok=True)
    (p.base_dir / "spool" / "orphan-voicemail").mkdir(parents=True, exist_ok=True)
    (dirs["astlogdir"] / "cdr-csv").mkdir(parents=True, exist_ok=True)
    p.callrec_dir.mkdir(parents=True, exist_ok=True)
    etc = dirs["astetcdir"]
    files = {
        "asterisk.conf": asterisk_conf(p),
        "modules.conf": modules_conf(p),
        "iax.conf": iax_conf(p),
        "manager.conf": manager_conf(p),
        "pjsip.conf": pjsip_conf(p),
        "queues.conf": queues_conf(cfg, p.queues),
        "queuerules.conf": queuerules_conf(cfg),
        "extensions.conf": extensions_conf(cfg, p),
        "logger.conf": "[general]\n[logfiles]\nmessages => notice,warning,error,verbose\n",
        "rtp.conf": f"[general]\nrtpstart = {p.rtp_start}\nrtpend = {p.rtp_end}\n",
        "musiconhold.conf": "[general]\n[default]\nmode = files\ndirectory = "
        + str(p.base_dir / "sounds")
        + "\n",
        # cdr_csv reads its options from cdr.conf's [csv] section (Asterisk 16)
        "cdr.conf": "[general]\nenable = yes\nunanswered = yes\n\n[csv]\nusegmtime = yes\nloguniqueid = yes\n"
        "loguserfield = yes\naccountlogs = no\n",
        # Atxfer (attended transfer from the desktop) needs the atxfer feature code: AMI queues its DTMF on
        # the agent's channel; queues let the agent transfer (Queue option t)
        "features.conf": "[general]\ntransferdigittimeout = 3\n\n[featuremap]\natxfer => *2\n",
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
    etc.chmod(0o700)  # manager.conf holds the AMI secret, pjsip.conf the agents', the dialplan the AGI key
    for name, text in files.items():
        path = etc / name
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(text, encoding="utf-8")
    for pid in prompts.PROMPTS:
        src = prompts.path(pid)
        if src.exists():
            shutil.copyfile(src, p.base_dir / "sounds" / src.name)
    return etc / "asterisk.conf"
