"""The queue call-back's dialplan (callflow/callback.py; docs/adr/2026-12-02-queue-callback.md).

- [hotline-queue-wait] (Gosub: queue, wait limit): a caller due an offer waits HOTLINE_CALLBACK_AFTER
  seconds, hears the offer ONCE (Read: one key; the prompt names the configured key), and either leaves a call-back request or goes back
  into the same queue at the position they had (Queue's position argument), for the rest of the wait.
- [hotline-qcb-request]: the AGI route queue-callback records the request and originates the
  placeholder; then UserEvent HotlineQueueCallback (Status: requested), the confirmation, hang-up. If
  the backend did not take it (down: AGI fails), Status: unavailable, the caller is told and goes back
  into the queue at their place.
- [hotline-qcb-hold]: the placeholder the backend originates (Local channel, half 2) waits in the
  queue at the caller's position; when an agent answers it, half 1 runs [hotline-qcb-dial], which
  dials the citizen (agent first) and reports each step.
"""

from __future__ import annotations

EVENT = "HotlineQueueCallback"
P = "${HOTLINE_PROMPTS}"


def callback_contexts() -> str:
    ev = f"UserEvent({EVENT},Id: ${{QCB_ID}}"
    return f"""[hotline-queue-wait]
; ARG1 the queue, ARG2 the wait limit (s). The call-back offer is made once, after HOTLINE_CALLBACK_AFTER s
exten => s,1,Set(LOCAL(limit)=${{IF($["${{ARG2}}" = ""]?0:${{ARG2}})}})
 same => n,GotoIf($["${{HOTLINE_CALLBACK_AFTER}}" = "" | "${{HOTLINE_CALLBACK_AFTER}}" = "0" | "${{HOTLINE_QCB_OFFERED}}" != ""]?plain)
 same => n,GotoIf($[${{limit}} > 0 & ${{HOTLINE_CALLBACK_AFTER}} >= ${{limit}}]?plain)
 same => n,Set(__HOTLINE_QCB_OFFERED=1)
 same => n,Queue(${{ARG1}},rt,,,${{HOTLINE_CALLBACK_AFTER}})
 same => n,GotoIf($["${{QUEUESTATUS}}" != "TIMEOUT"]?done)
 same => n,Set(HOTLINE_QCB_QUEUE=${{ARG1}})
 same => n,Set(HOTLINE_QCB_POS=${{QUEUEPOSITION}})
 ; the offer names the configured key: "…请按" + key-<key> + "键；…" (ivr/prompts.py)
 same => n,Set(LOCAL(offer)={P}/queue-callback-offer&{P}/key-${{HOTLINE_CALLBACK_KEY}}&{P}/queue-callback-offer-end)
 same => n,UserEvent({EVENT},Status: offered,Queue: ${{ARG1}},Position: ${{QUEUEPOSITION}},Key: ${{HOTLINE_CALLBACK_KEY}},Prompt: ${{offer}})
 same => n,Read(HOTLINE_QCB_KEY,${{offer}},1,,1,${{IF($["${{HOTLINE_CALLBACK_ANSWER}}" = ""]?6:${{HOTLINE_CALLBACK_ANSWER}})}})
 same => n,GotoIf($["${{HOTLINE_QCB_KEY}}" != "${{HOTLINE_CALLBACK_KEY}}"]?declined)
 ; the request: hangs up once the backend took it; returns (the caller told) when it did not
 same => n,Gosub(hotline-qcb-request,s,1)
 same => n,Goto(back)
 same => n(declined),UserEvent({EVENT},Status: declined,Queue: ${{ARG1}})
 ; back at the place they had, for the rest of the wait
 same => n(back),Set(LOCAL(rest)=$[${{limit}} - ${{HOTLINE_CALLBACK_AFTER}}])
 same => n,Queue(${{ARG1}},rt,,,${{IF($[${{limit}} > 0]?${{rest}}:)}},,,,,${{IF($["${{HOTLINE_QCB_POS}}" = ""]?1:${{HOTLINE_QCB_POS}})}})
 same => n(done),Return()
 same => n(plain),Queue(${{ARG1}},rt,,,${{IF($[${{limit}} > 0]?${{limit}}:)}})
 same => n,Return()

[hotline-qcb-request]
; the caller pressed the key: the backend (AGI route queue-callback) commits the request and leaves a
; placeholder in the queue at their place. Backend down or request refused: the caller is told and
; keeps waiting where they were (Return) - a key press is never silently lost
exten => s,1,Set(HOTLINE_QCB_OK=)
 same => n,AGI(${{HOTLINE_AGI}}/queue-callback,${{HOTLINE_QCB_QUEUE}},${{HOTLINE_QCB_POS}},${{HOTLINE_SERVER}},${{HOTLINE_AGI_KEY}})
 same => n,GotoIf($["${{HOTLINE_QCB_OK}}" != "1"]?unavailable)
 same => n,UserEvent({EVENT},Status: requested,Queue: ${{HOTLINE_QCB_QUEUE}},Position: ${{HOTLINE_QCB_POS}},Caller: ${{CALLERID(num)}})
 same => n,Playback(${{HOTLINE_PROMPTS}}/queue-callback-confirm)
 same => n,Hangup()
 same => n(unavailable),UserEvent({EVENT},Status: unavailable,Queue: ${{HOTLINE_QCB_QUEUE}},Agistatus: ${{AGISTATUS}})
 same => n,Playback(${{HOTLINE_PROMPTS}}/queue-callback-unavailable)
 same => n,Return()

[hotline-qcb-hold]
; the placeholder (Local half 2, originated by the backend): waits in the queue at the caller's place
exten => s,1,Set(CALLERID(all)="12345回拨" <${{QCB_NUMBER}}>)
 same => n,ExecIf($["${{QCB_MAXPEN}}" != ""]?Set(QUEUE_MAX_PENALTY=${{QCB_MAXPEN}}))
 same => n,{ev},Status: waiting)
 same => n,Queue(${{QCB_QUEUE}},r,,,${{QCB_HOLD_S}},,,,,${{QCB_POS}})
 same => n,{ev},Status: expired,Queuestatus: ${{QUEUESTATUS}})
 same => n,Hangup()

[hotline-qcb-dial]
; half 1 of the placeholder, once an agent answered it: dial the citizen (agent first)
exten => _X.,1,{ev},Status: dialing)
 same => n,Dial(Local/${{EXTEN}}@hotline-outbound,${{QCB_RING_S}},U(hotline-qcb-answered^${{QCB_ID}}))
 same => n,{ev},Status: ended,Dialstatus: ${{DIALSTATUS}})
 same => n,Hangup()

[hotline-qcb-answered]
; the citizen answered (Dial option U: runs on the citizen's channel before it is connected)
exten => s,1,UserEvent({EVENT},Id: ${{ARG1}},Status: connected)
 same => n,Return()

"""
