"""Renders a complete private Asterisk configuration from the platform configuration.

Every listener is bound to 127.0.0.1 by default (AMI, PJSIP transport, RTP media). The dialplan
never strands a caller: when the FastAGI step fails (AGISTATUS != SUCCESS) or sets no route, the
call goes to the default queue.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

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


def extensions_conf(cfg: HotlineConfig, p: RenderParams) -> str:
    agi = f"agi://{p.agi_host}:{p.agi_port}"
    route_event = (
        "UserEvent(HotlineRoute,"
        "Route: ${HOTLINE_ROUTE},Queue: ${HOTLINE_QUEUE},Platform: ${HOTLINE_PLATFORM},"
        "Prefecture: ${HOTLINE_PREFECTURE},Mailbox: ${HOTLINE_MAILBOX},AgiMs: ${HOTLINE_AGI_MS},"
        "Caller: ${CALLERID(num)})"
    )
    trunks = []
    for plat in cfg.platforms:
        for t in plat.trunks:
            trunks.append(f"""[trunk-in-{t}]
; calls arriving on trunk {t} ({plat.short_name}); a landline dialled without area code takes its region
exten => _X.,1,Set(__HOTLINE_TRUNK={t})
 same => n,Goto(hotline-inbound,12345,1)
""")
    sim = p.sim_audio_dir or p.base_dir / "sim"
    return f"""; Rendered by asterisk_conf/render.py from the platform configuration ({cfg.province}). Do not edit.
[globals]
HOTLINE_AGI={agi}
HOTLINE_DEFAULT_QUEUE={cfg.default_queue}
HOTLINE_SERVER={p.server_name}
HOTLINE_PROMPTS={p.base_dir / "sounds"}
HOTLINE_SIM_AUDIO={sim}

[hotline-inbound]
; The unified number. Any dialled number on this context is the hotline.
exten => 12345,1,NoOp(12345 from ${{CALLERID(num)}} trunk ${{HOTLINE_TRUNK}})
 same => n,Set(HOTLINE_T0=${{STRFTIME(,,%s.%3q)}})
 same => n,Set(HOTLINE_ROUTE=)
 same => n,AGI(${{HOTLINE_AGI}}/incoming,${{HOTLINE_TRUNK}},${{HOTLINE_SERVER}},${{CHANNEL(linkedid)}})
 same => n,Set(HOTLINE_AGI_MS=$[(${{STRFTIME(,,%s.%3q)}} - ${{HOTLINE_T0}}) * 1000])
 same => n,GotoIf($["${{AGISTATUS}}" != "SUCCESS"]?fallback)
 same => n,GotoIf($["${{HOTLINE_ROUTE}}" = "queue"]?hotline-queue,s,1)
 same => n,GotoIf($["${{HOTLINE_ROUTE}}" = "voicemail"]?hotline-voicemail,s,1)
 same => n(fallback),NoOp(FastAGI failed (${{AGISTATUS}}): default queue)
 same => n,Set(HOTLINE_ROUTE=fallback)
 same => n,Set(HOTLINE_QUEUE=${{HOTLINE_DEFAULT_QUEUE}})
 same => n,Set(HOTLINE_OVERFLOW_QUEUE=)
 same => n,Set(HOTLINE_PLATFORM=province)
 same => n,Set(HOTLINE_GREETING=hotline-greeting)
 same => n,Goto(hotline-queue,s,1)
exten => _X.,1,Goto(12345,1)

[hotline-queue]
exten => s,1,{route_event}
 same => n,Answer()
 same => n,ExecIf($["${{HOTLINE_GREETING}}" != ""]?Playback(${{HOTLINE_PROMPTS}}/${{HOTLINE_GREETING}}))
 same => n,GotoIf($["${{HOTLINE_OVERFLOW_QUEUE}}" = ""]?single)
 same => n,Queue(${{HOTLINE_QUEUE}},r,,,${{HOTLINE_OVERFLOW_AFTER}})
 same => n,UserEvent(HotlineOverflow,From: ${{HOTLINE_QUEUE}},To: ${{HOTLINE_OVERFLOW_QUEUE}},Status: ${{QUEUESTATUS}})
 same => n,Set(HOTLINE_QUEUE=${{HOTLINE_OVERFLOW_QUEUE}})
 same => n(single),Queue(${{HOTLINE_QUEUE}},r,,,${{HOTLINE_OVERFLOW_AFTER}})
 ; no agent answered within the limit: the caller can still leave a message
 same => n,Set(HOTLINE_ROUTE=voicemail)
 same => n,Set(HOTLINE_MAILBOX=${{IF($["${{HOTLINE_MAILBOX}}" = ""]?vm-province:${{HOTLINE_MAILBOX}})}})
 same => n,Goto(hotline-voicemail,s,1)

[hotline-voicemail]
exten => s,1,{route_event}
 same => n,Answer()
 same => n,AGI(${{HOTLINE_AGI}}/voicemail,${{HOTLINE_MAILBOX}},${{HOTLINE_SERVER}})
 same => n,GotoIf($["${{AGISTATUS}}" = "SUCCESS"]?done)
 ; backend down: record locally so nothing is lost; the backend imports it later
 same => n,Playback(${{HOTLINE_PROMPTS}}/voicemail-closed)
 same => n,Record(${{HOTLINE_PROMPTS}}/../spool/orphan-voicemail/${{UNIQUEID}}.wav,3,{cfg_voicemail_max(cfg)},k)
 same => n(done),Hangup()

{"".join(trunks)}
[hotline-agents]
; agents' softphones may dial the hotline itself (testing) and nothing else
exten => 12345,1,Goto(hotline-inbound,12345,1)

[hotline-outbound]
; call-backs from an agent's phone to a citizen; in the sandbox citizens are simulated
exten => _X.,1,Dial(Local/${{EXTEN}}@hotline-sim-citizen,30)

[hotline-sim-citizen]
; a simulated citizen: plays SIM_AUDIO (if set) then waits SIM_HOLD seconds, sends SIM_DTMF when asked
; (_X! also matches the one-digit exten 0 that simcall originates into; _X. needs two digits)
exten => _X!,1,Answer()
 same => n,Set(SIM_HOLD=${{IF($["${{SIM_HOLD}}" = ""]?30:${{SIM_HOLD}})}})
 same => n,ExecIf($["${{SIM_WAIT}}" != ""]?Wait(${{SIM_WAIT}}))
 same => n,ExecIf($["${{SIM_DTMF}}" != ""]?SendDTMF(${{SIM_DTMF}},250))
 same => n,ExecIf($["${{SIM_AUDIO}}" != ""]?Playback(${{SIM_AUDIO}}))
 same => n,Wait(${{SIM_HOLD}})
 same => n,Hangup()
exten => s,1,Goto(0,1)

[hotline-survey]
; satisfaction call-back (回访): the backend originates the citizen into here with HOTLINE_SURVEY_ID
exten => s,1,Answer()
 same => n,AGI(${{HOTLINE_AGI}}/survey,${{HOTLINE_SURVEY_ID}},${{HOTLINE_PROMPTS}},${{CHANNEL(linkedid)}})
 same => n,Hangup()

[hotline-sim-callee]
; a simulated citizen being called: SIM_MODE=noanswer rings and never answers, busy is busy,
; anything else answers as hotline-sim-citizen (SIM_WAIT, SIM_DTMF, SIM_HOLD)
exten => _X!,1,GotoIf($["${{SIM_MODE}}" = "noanswer"]?noanswer)
 same => n,GotoIf($["${{SIM_MODE}}" = "busy"]?busy)
 same => n,Goto(hotline-sim-citizen,${{EXTEN}},1)
 same => n(noanswer),Ringing()
 same => n,Wait(120)
 same => n,Hangup()
 same => n(busy),Busy(10)

[hotline-sim-agent]
; a simulated agent's phone (a Local channel queue member): answers after SIM_RING s and talks SIM_TALK s.
; Like a real phone it reports busy/free through a device state (queue members use
; StateInterface=Custom:simagent-<exten>); a Local channel's own state is not refreshed after a call.
exten => _X.,1,Set(SIMAGENT=${{EXTEN}})
 same => n,Wait(${{IF($["${{SIM_RING}}" = ""]?1:${{SIM_RING}})}})
 same => n,Answer()
 same => n,Set(DEVICE_STATE(Custom:simagent-${{SIMAGENT}})=INUSE)
 same => n,Wait(${{IF($["${{SIM_TALK}}" = ""]?5:${{SIM_TALK}})}})
 same => n,Hangup()
exten => h,1,Set(DEVICE_STATE(Custom:simagent-${{SIMAGENT}})=NOT_INUSE)

[hotline-bench-agi]
; routing benchmark: the AGI step only, then answer, hold 1 s, hang up
exten => _X.,1,Set(HOTLINE_T0=${{STRFTIME(,,%s.%3q)}})
 same => n,AGI(${{HOTLINE_AGI}}/incoming,${{HOTLINE_TRUNK}},${{HOTLINE_SERVER}},${{CHANNEL(linkedid)}})
 same => n,GotoIf($["${{AGISTATUS}}" != "SUCCESS"]?fail)
 same => n,UserEvent(HotlineBench,Route: ${{HOTLINE_ROUTE}},Queue: ${{HOTLINE_QUEUE}})
 same => n,Answer()
 same => n,Wait(1)
 same => n,Hangup()
 same => n(fail),UserEvent(HotlineBench,Route: fail,Queue: )
 same => n,Hangup()

[hotline-bench-static]
; routing benchmark baseline: the same variables set by a static Goto, no AGI
exten => _X.,1,Set(HOTLINE_T0=${{STRFTIME(,,%s.%3q)}})
 same => n,Set(HOTLINE_ROUTE=queue)
 same => n,Set(HOTLINE_QUEUE=q-kunming)
 same => n,Set(HOTLINE_PLATFORM=kunming)
 same => n,UserEvent(HotlineBench,Route: ${{HOTLINE_ROUTE}},Queue: ${{HOTLINE_QUEUE}})
 same => n,Answer()
 same => n,Wait(1)
 same => n,Hangup()

[hotline-bench-sink]
exten => s,1,Answer()
 same => n,Wait(2)
 same => n,Hangup()
"""


def cfg_voicemail_max(cfg: HotlineConfig) -> int:
    return 120


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
