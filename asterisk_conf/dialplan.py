"""The dialplan (extensions.conf), rendered from the platform configuration.

The caller is never stranded: when the FastAGI step fails (AGISTATUS != SUCCESS) or sets no route,
the call goes to the default queue; when no agent answers within the limit, to voicemail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asterisk_conf.callback import callback_contexts
from asterisk_conf.transfer import transfer_contexts, trunk_in

if TYPE_CHECKING:
    from asterisk_conf.render import RenderParams
    from callflow import HotlineConfig


def extensions_conf(cfg: HotlineConfig, p: RenderParams) -> str:
    trunks = "".join(_trunk(t, plat.short_name) for plat in cfg.platforms for t in plat.trunks)
    return "".join(
        [_globals(cfg, p), _inbound(cfg, p), _queue_and_voicemail(cfg, p),
         transfer_contexts(cfg.province_platform.mailbox), callback_contexts(), trunk_in(cfg.all_queues()), trunks,
         _simulation(p), _bench(cfg)]
    )  # fmt: skip


ROUTE_EVENT = (
    "UserEvent(HotlineRoute,"
    "Route: ${HOTLINE_ROUTE},Queue: ${HOTLINE_QUEUE},Platform: ${HOTLINE_PLATFORM},"
    "Prefecture: ${HOTLINE_PREFECTURE},Mailbox: ${HOTLINE_MAILBOX},AgiMs: ${HOTLINE_AGI_MS},"
    "Caller: ${CALLERID(num)},Source: ${HOTLINE_SOURCE},Did: ${HOTLINE_DID},Kind: ${HOTLINE_CALLER_KIND},"
    "E164: ${HOTLINE_CALLER_E164},Reason: ${HOTLINE_REASON},Trunk: ${HOTLINE_TRUNK})"
)  # the whole routing decision travels with the call: the AMI leader writes the call row from it
AGI_MS = "Set(HOTLINE_AGI_MS=$[(${STRFTIME(,,%s.%3q)} - ${HOTLINE_T0}) * 1000])"  # the AGI step's time


def default_queue(cfg: HotlineConfig, p: RenderParams) -> str:
    """Where a call goes when FastAGI fails: the default queue if this server holds it, else its own
    first queue (a queue on another server cannot be joined from here)."""
    if p.queues is None or cfg.default_queue in p.queues or not p.queues:
        return cfg.default_queue
    return p.queues[0]


def _globals(cfg: HotlineConfig, p: RenderParams) -> str:
    agi = f"agi://{p.agi_host}:{p.agi_port}"
    sim = p.sim_audio_dir or p.base_dir / "sim"
    return f"""; Rendered by asterisk_conf/render.py from the platform configuration ({cfg.province}). Do not edit.
[globals]
HOTLINE_AGI={agi}
HOTLINE_AGI_KEY={p.agi_secret}
HOTLINE_DEFAULT_QUEUE={default_queue(cfg, p)}
HOTLINE_SERVER={p.server_name}
HOTLINE_PROMPTS={p.base_dir / "sounds"}
HOTLINE_SIM_AUDIO={sim}
HOTLINE_CALLREC={p.callrec_dir}

"""


def _inbound(cfg: HotlineConfig, p: RenderParams) -> str:
    # the backend unreachable: the default queue's platform (the provincial pool) takes the call
    fallback = cfg.platform_for_queue(default_queue(cfg, p)) or cfg.province_platform
    return f"""[hotline-inbound]
; The unified number. Any dialled number on this context is the hotline; the number dialled (a merged
; department number, 并号) is kept in HOTLINE_DID and handed to the routing decision.
exten => 12345,1,NoOp(12345 from ${{CALLERID(num)}} trunk ${{HOTLINE_TRUNK}} dialled ${{HOTLINE_DID}})
 same => n,Set(HOTLINE_T0=${{STRFTIME(,,%s.%3q)}})
 same => n,Set(__HOTLINE_DID=${{IF($["${{HOTLINE_DID}}" = ""]?12345:${{HOTLINE_DID}})}})
 same => n,Set(HOTLINE_ROUTE=)
 same => n,Set(HOTLINE_NOTICE=)
 same => n,AGI(${{HOTLINE_AGI}}/incoming,${{HOTLINE_TRUNK}},${{HOTLINE_SERVER}},${{CHANNEL(linkedid)}},${{HOTLINE_DID}},${{HOTLINE_AGI_KEY}})
 same => n,{AGI_MS}
 same => n,GotoIf($["${{AGISTATUS}}" != "SUCCESS"]?fallback)
 same => n,GotoIf($["${{HOTLINE_ROUTE}}" = "queue"]?hotline-queue,s,1)
 same => n,GotoIf($["${{HOTLINE_ROUTE}}" = "voicemail"]?hotline-voicemail,s,1)
 same => n(fallback),NoOp(FastAGI failed (${{AGISTATUS}}): default queue)
 same => n,Set(HOTLINE_ROUTE=fallback)
 same => n,Set(HOTLINE_SKILL_SUFFIX=)
 same => n,Set(HOTLINE_CALLBACK_AFTER=)
 same => n,Set(HOTLINE_QUEUE=${{HOTLINE_DEFAULT_QUEUE}})
 same => n,Set(HOTLINE_OVERFLOW_QUEUE=)
 same => n,Set(HOTLINE_PLATFORM={fallback.code})
 same => n,Set(HOTLINE_GREETING={cfg.greeting})
 same => n,Goto(hotline-queue,s,1)
exten => _X.,1,Set(__HOTLINE_DID=${{EXTEN}})
 same => n,Goto(12345,1)

"""


def _queue_and_voicemail(cfg: HotlineConfig, p: RenderParams) -> str:
    from callflow.skills import SKILLED_MAX_PENALTY

    route_event = ROUTE_EVENT
    return f"""[hotline-notice]
; the source hotline's one-sentence notice (并号: "您拨打的…热线已并入12345"), played once per call
exten => s,1,GotoIf($["${{HOTLINE_NOTICE}}" = ""]?done)
 same => n,Set(NOTICE=${{HOTLINE_NOTICE}})
 same => n,Set(HOTLINE_NOTICE=)
 same => n,UserEvent(HotlineNotice,Prompt: ${{NOTICE}},Source: ${{HOTLINE_SOURCE}})
 same => n,Playback(${{HOTLINE_PROMPTS}}/${{NOTICE}})
 same => n(done),Return()

[hotline-queue]
exten => s,1,{route_event}
 same => n,Answer()
 ; the queue's MixMonitor records here when an agent answers; a second queue (transfer) appends
 same => n,Set(MONITOR_FILENAME=${{HOTLINE_CALLREC}}/${{UNIQUEID}})
 same => n,Set(MONITOR_OPTIONS=a)
 same => n,ExecIf($["${{HOTLINE_GREETING}}" != ""]?Playback(${{HOTLINE_PROMPTS}}/${{HOTLINE_GREETING}}))
 same => n,Gosub(hotline-notice,s,1)
 ; a skill call (a source hotline with a skill group) waits in the skill queue: only agents with the
 ; skill ring (QUEUE_MAX_PENALTY), everyone after the queue rule's wait (callflow/skills.py)
 same => n,ExecIf($["${{HOTLINE_SKILL_SUFFIX}}" != ""]?Set(QUEUE_MAX_PENALTY={SKILLED_MAX_PENALTY}))
 ; hotline-queue-wait: Queue(), with the one call-back offer when it is due (asterisk_conf/callback.py)
 same => n,GotoIf($["${{HOTLINE_OVERFLOW_QUEUE}}" = ""]?single)
 same => n,Gosub(hotline-queue-wait,s,1(${{HOTLINE_QUEUE}}${{HOTLINE_SKILL_SUFFIX}},${{HOTLINE_OVERFLOW_AFTER}}))
 same => n,UserEvent(HotlineOverflow,From: ${{HOTLINE_QUEUE}},To: ${{HOTLINE_OVERFLOW_QUEUE}},Status: ${{QUEUESTATUS}})
 same => n,Set(HOTLINE_QUEUE=${{HOTLINE_OVERFLOW_QUEUE}})
 same => n(single),Gosub(hotline-queue-wait,s,1(${{HOTLINE_QUEUE}}${{HOTLINE_SKILL_SUFFIX}},${{HOTLINE_OVERFLOW_AFTER}}))
 ; no agent answered within the limit: the caller can still leave a message
 same => n,Set(HOTLINE_ROUTE=voicemail)
 same => n,Set(HOTLINE_MAILBOX=${{IF($["${{HOTLINE_MAILBOX}}" = ""]?{cfg.province_platform.mailbox}:${{HOTLINE_MAILBOX}})}})
 same => n,Goto(hotline-voicemail,s,1)

[hotline-voicemail]
exten => s,1,{route_event}
 same => n,Answer()
 same => n,Gosub(hotline-notice,s,1)
 same => n,AGI(${{HOTLINE_AGI}}/voicemail,${{HOTLINE_MAILBOX}},${{HOTLINE_SERVER}},${{HOTLINE_AGI_KEY}})
 same => n,GotoIf($["${{AGISTATUS}}" = "SUCCESS"]?done)
 ; backend down: record locally so nothing is lost; the backend imports it later
 same => n,Playback(${{HOTLINE_PROMPTS}}/voicemail-closed)
 same => n,Record(${{HOTLINE_PROMPTS}}/../spool/orphan-voicemail/${{UNIQUEID}}.wav,3,{p.voicemail_max_s},k)
 same => n(done),Hangup()

"""


def _trunk(t: str, short_name: str) -> str:
    return f"""[trunk-in-{t}]
; calls arriving on trunk {t} ({short_name}); a landline dialled without area code takes its region;
; the dialled number (12345 or a merged number) is kept for the routing decision
exten => _X.,1,Set(__HOTLINE_TRUNK={t})
 same => n,Set(__HOTLINE_DID=${{EXTEN}})
 same => n,Goto(hotline-inbound,12345,1)
"""


def _simulation(p: RenderParams) -> str:
    """Agents' phones, call-backs, surveys and the simulated citizens and agents of the sandbox."""
    phones = "".join(
        f"exten => {n},1,Dial(PJSIP/{ep},60)\n same => n,Hangup()\n" for n, ep in p.citizen_phones.items()
    )
    return (
        """
[hotline-agents]
; agents' softphones may dial the hotline itself (testing) and nothing else
exten => 12345,1,Goto(hotline-inbound,12345,1)

[hotline-outbound]
; call-backs from an agent's phone to a citizen; in the sandbox citizens are simulated, except the
; numbers of citizens' softphones registered here (RenderParams.citizen_phones)
"""
        + phones
        + """exten => _X.,1,Dial(Local/${EXTEN}@hotline-sim-citizen,30)
; a number the carrier cannot reach (sandbox only: a transfer to an unreachable directory number)
exten => _000X.,1,Hangup(3)

[hotline-sim-citizen]
; a simulated citizen: plays SIM_AUDIO (if set) then waits SIM_HOLD seconds, sends SIM_DTMF when asked,
; records the call from its side into SIM_RECORD (a path, tests)
; (_X! also matches the one-digit exten 0 that simcall originates into; _X. needs two digits)
exten => _X!,1,Answer()
 ; tests: SIM_RECORD keeps what the simulated citizen said and HEARD (e.g. a supervisor barging in)
 same => n,ExecIf($["${SIM_RECORD}" != ""]?MixMonitor(${SIM_RECORD}))
 same => n,Set(SIM_HOLD=${IF($["${SIM_HOLD}" = ""]?30:${SIM_HOLD})})
 same => n,ExecIf($["${SIM_WAIT}" != ""]?Wait(${SIM_WAIT}))
 same => n,ExecIf($["${SIM_DTMF}" != ""]?SendDTMF(${SIM_DTMF},250))
 same => n,ExecIf($["${SIM_AUDIO}" != ""]?Playback(${SIM_AUDIO}))
 same => n,Wait(${SIM_HOLD})
 same => n,Hangup()
exten => s,1,Goto(0,1)

[hotline-spy]
; listen / whisper / barge (app/agents/spy.py): the backend originates the supervisor's own phone into
; here; ChanSpy on the agent's channel (prefix PJSIP/<endpoint>-) with q + w (agent only) or B (both)
exten => s,1,Answer()
 same => n,UserEvent(HotlineSpy,Target: ${HOTLINE_SPY_TARGET},Options: ${HOTLINE_SPY_OPTS})
 same => n,ChanSpy(${HOTLINE_SPY_TARGET},${HOTLINE_SPY_OPTS})
 same => n,Hangup()

[hotline-survey]
; satisfaction call-back (回访): the backend originates the citizen into here with HOTLINE_SURVEY_ID
exten => s,1,Answer()
 same => n,AGI(${HOTLINE_AGI}/survey,${HOTLINE_SURVEY_ID},${HOTLINE_PROMPTS},${CHANNEL(linkedid)},${HOTLINE_AGI_KEY})
 same => n,Hangup()

[hotline-sim-callee]
; a simulated citizen being called: SIM_MODE=noanswer rings and never answers, busy is busy,
; anything else answers as hotline-sim-citizen (SIM_WAIT, SIM_DTMF, SIM_HOLD)
exten => _X!,1,GotoIf($["${SIM_MODE}" = "noanswer"]?noanswer)
 same => n,GotoIf($["${SIM_MODE}" = "busy"]?busy)
 same => n,Goto(hotline-sim-citizen,${EXTEN},1)
 same => n(noanswer),Ringing()
 same => n,Wait(120)
 same => n,Hangup()
 same => n(busy),Busy(10)

[hotline-sim-agent]
; a simulated agent's phone (a Local channel queue member): answers after SIM_RING s and talks SIM_TALK s.
; Like a real phone it reports busy/free through a device state (queue members use
; StateInterface=Custom:simagent-<exten>); a Local channel's own state is not refreshed after a call.
exten => _X.,1,Set(SIMAGENT=${EXTEN})
 same => n,Wait(${IF($["${SIM_RING}" = ""]?1:${SIM_RING})})
 same => n,Answer()
 same => n,Set(DEVICE_STATE(Custom:simagent-${SIMAGENT})=INUSE)
 same => n,Wait(${IF($["${SIM_TALK}" = ""]?5:${SIM_TALK})})
 same => n,Hangup()
exten => h,1,Set(DEVICE_STATE(Custom:simagent-${SIMAGENT})=NOT_INUSE)

"""
    )


def _bench_agi_step(context: str, about: str, agi: str, mode: str, *, recorded: bool) -> str:
    """A bench context: the AGI step with hotline-inbound's arguments (the dialled number being the
    hotline's own) at ``agi``, then answer, hold 1 s, hang up; its UserEvent tells the bench the route.
    ``recorded``: the production dialplan's HotlineRoute event follows the reply, as in hotline-queue,
    so the AMI leader writes the decision's call row (the backend's whole work for a routed call).
    A fallback still reaches a queue in production: answered here too (counted by its event)."""
    route_event = f" same => n,{AGI_MS}\n same => n,{ROUTE_EVENT}\n" if recorded else ""
    return f"""[{context}]
{about}
exten => _X.,1,Set(HOTLINE_T0=${{STRFTIME(,,%s.%3q)}})
 same => n,AGI({agi}/incoming,${{HOTLINE_TRUNK}},${{HOTLINE_SERVER}},${{CHANNEL(linkedid)}},12345,${{HOTLINE_AGI_KEY}})
 same => n,GotoIf($["${{AGISTATUS}}" != "SUCCESS"]?fail)
{route_event} same => n,UserEvent(HotlineBench,Route: ${{HOTLINE_ROUTE}},Queue: ${{HOTLINE_QUEUE}},Mode: {mode})
 same => n,Answer()
 same => n,Wait(1)
 same => n,Hangup()
 same => n(fail),UserEvent(HotlineBench,Route: fail,Queue: ,Mode: {mode})
 same => n,Answer()
 same => n,Wait(1)
 same => n,Hangup()

"""


def _bench(cfg: HotlineConfig) -> str:
    bench = (cfg.prefectures or (cfg.province_platform,))[0]  # the static baseline's platform
    agi = _bench_agi_step(
        "hotline-bench-agi", "; routing benchmark: the backend's FastAGI routing step", "${HOTLINE_AGI}", "agi",
        recorded=True,
    )
    raw = _bench_agi_step(
        "hotline-bench-raw",
        "; the protocol's own cost: the same AGI step answered by a minimal FastAGI responder (bench/raw_agi.py,\n"
        "; its address set by the bench as the global HOTLINE_BENCH_RAW_AGI) that sends fixed variables",
        "${HOTLINE_BENCH_RAW_AGI}",
        "raw",
        recorded=False,
    )
    return agi + raw + f"""[hotline-bench-static]
; routing benchmark baseline: the same variables set by a static Goto, no AGI
exten => _X.,1,Set(HOTLINE_T0=${{STRFTIME(,,%s.%3q)}})
 same => n,Set(HOTLINE_ROUTE=queue)
 same => n,Set(HOTLINE_QUEUE={bench.queues[0]})
 same => n,Set(HOTLINE_PLATFORM={bench.code})
 same => n,UserEvent(HotlineBench,Route: ${{HOTLINE_ROUTE}},Queue: ${{HOTLINE_QUEUE}},Mode: static)
 same => n,Answer()
 same => n,Wait(1)
 same => n,Hangup()

[hotline-bench-sip]
; SIPp's INVITEs (bench/sip_load_bench.py): 1XXXX through the FastAGI routing, 2XXXX the static Goto;
; 3XXXX the citizen's whole path (hotline-inbound: routing or its fallback, the queue), for fault tests;
; 4XXXX the AGI step answered by the minimal responder (the protocol's cost, as a reference)
exten => _1X.,1,Goto(hotline-bench-agi,${{EXTEN}},1)
exten => _2X.,1,Goto(hotline-bench-static,${{EXTEN}},1)
exten => _4X.,1,Goto(hotline-bench-raw,${{EXTEN}},1)
exten => _3X.,1,Goto(hotline-inbound,12345,1)

[hotline-bench-sink]
exten => s,1,Answer()
 same => n,Wait(2)
 same => n,Hangup()
"""
