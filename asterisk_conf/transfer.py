"""Dialplan of live transfers (转接); docs/adr/2026-12-02-live-transfer.md says why it is built this way.

Blind: the backend sets HOTLINE_XFER on the caller's channel (Setvar) and moves it here (Redirect);
the agent's leg ends and the agent is free at once. Attended: the backend sets HOTLINE_XFER on the
agent's channel and sends Atxfer; the consultation leg rings the target while the caller holds; the
agent completes (its leg hangs up: Asterisk joins caller and target) or cancels (the consultation
leg is hung up: the agent is back with the caller).

HOTLINE_XFER = id^kind^queue-or-dial-string^ring seconds^transferring agent's interface^original queue.
A target that does not answer within the ring time sends the caller back: first to the transferring
agent's phone, then to the original queue, then (nobody at all) to the mailbox — never silence.
"""

from __future__ import annotations

F = "${{CUT(HOTLINE_XFER,^,{n})}}"
ID, KIND, DEST, RING, BACK, BACKQ = (F.format(n=i) for i in range(1, 7))


def _event(status: str) -> str:
    return f"UserEvent(HotlineTransfer,Id: {ID},Kind: {KIND},Status: {status})"


def trunk_in(queues: tuple[str, ...]) -> str:
    """A transfer arriving over the IAX2 trunk from the other server: the extension is the target
    queue's index (2 digits, in the platform configuration's order) then the transfer's row id; the
    backend links the call on this server to the transfer (UserEvent, Row) and the screen-pop shows it."""
    if len(queues) > 100:
        raise ValueError("a trunk transfer names its queue by a 2-digit index: at most 100 queues")
    lines = ["[hotline-trunk-in]", "; transfers from the other Asterisk server (IAX2 trunk)"]
    for i, q in enumerate(queues):
        lines.append(f"exten => _{i:02d}X!,1,Set(HOTLINE_QUEUE={q})")
        lines.append(" same => n,Goto(hotline-trunk-queue,${EXTEN:2},1)")
    lines.append("""
; a transfer to a named colleague on this server: *<their endpoint> (only letters, digits, -, _ and . dialled)
exten => _*.,1,Dial(PJSIP/${FILTER(-_.0-9A-Za-z,${EXTEN:1})},300)
 same => n,Hangup()

[hotline-trunk-queue]
exten => _X!,1,UserEvent(HotlineTransfer,Row: ${EXTEN},Status: arrived)
 same => n,Set(HOTLINE_ROUTE=transfer)
 same => n,Set(MONITOR_FILENAME=${HOTLINE_CALLREC}/${UNIQUEID})
 same => n,Set(MONITOR_OPTIONS=a)
 same => n,Queue(${HOTLINE_QUEUE},rt,,,300)
 same => n,Hangup()

""")
    return "\n".join(lines)


def transfer_contexts(back_mailbox: str) -> str:
    return f"""[hotline-transfer]
; blind transfer of the caller (Redirect by the backend, HOTLINE_XFER set on this channel)
exten => s,1,{_event("started")}
 same => n,GotoIf($["{KIND}" = "queue"]?queue)
 same => n,Dial({DEST},{RING},U(hotline-xfer-answered^{ID}))
 same => n,GotoIf($["${{DIALSTATUS}}" = "ANSWER"]?done)
 same => n,{_event("failed ${DIALSTATUS}")}
 same => n,Goto(back)
 same => n(queue),Set(HOTLINE_QUEUE={DEST})
 same => n,Queue({DEST},rt,,,{RING})
 same => n,{_event("failed ${QUEUESTATUS}")}
 same => n(back),Dial({BACK},{RING},U(hotline-xfer-returned^{ID}))
 same => n,GotoIf($["${{DIALSTATUS}}" = "ANSWER"]?done)
 same => n,{_event("requeued")}
 same => n,Set(HOTLINE_QUEUE={BACKQ})
 same => n,Queue({BACKQ},rt,,,60)
 same => n,Set(HOTLINE_MAILBOX=${{IF($["${{HOTLINE_MAILBOX}}" = ""]?{back_mailbox}:${{HOTLINE_MAILBOX}})}})
 same => n,Goto(hotline-voicemail,s,1)
 same => n(done),Hangup()

[hotline-xfer-answered]
; runs on the target's leg when it answers (Dial option U: a context, started at s,1; ^ separates arguments)
exten => s,1,UserEvent(HotlineTransfer,Id: ${{ARG1}},Status: answered)
 same => n,Return()

[hotline-xfer-returned]
; runs on the transferring agent's leg when the caller comes back to them
exten => s,1,UserEvent(HotlineTransfer,Id: ${{ARG1}},Status: returned)
 same => n,Return()

[hotline-xfer-consult]
; attended transfer: the consultation leg (Atxfer by the backend; HOTLINE_XFER inherited from the
; agent's channel) rings a colleague, a directory number or another platform's queue (here, or across
; the trunk as a dial string) while the caller holds
exten => 700,1,{_event("consult")}
 same => n,GotoIf($["{KIND}" = "queue"]?queue)
 same => n,Dial({DEST},{RING},U(hotline-xfer-answered^{ID}))
 same => n,GotoIf($["${{DIALSTATUS}}" = "ANSWER"]?done)
 same => n,{_event("failed ${DIALSTATUS}")}
 same => n(done),Hangup()
 same => n(queue),Set(HOTLINE_QUEUE={DEST})
 same => n,Queue({DEST},rt,,,{RING})
 same => n,{_event("failed ${QUEUESTATUS}")}
 same => n,Hangup()

"""
