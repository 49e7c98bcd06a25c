"""The dialplan (extensions.conf), rendered from the platform configuration.

The caller is never stranded: when the FastAGI step fails (AGISTATUS != SUCCESS) or sets no route,
the call goes to the default queue; when no agent answers within the limit, to voicemail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from asterisk_conf.render import RenderParams
    from callflow import HotlineConfig


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
 same => n,Record(${{HOTLINE_PROMPTS}}/../spool/orphan-voicemail/${{UNIQUEID}}.wav,3,{p.voicemail_max_s},k)
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
