"""Voicemail (留言): the recording rows, their durable transcription jobs and audited corrections, the
inbox for agents and supervisors, orphaned-file import, and the service side of the edge ports —
the `voicemail` AGI route's VoicemailStore (agi) and the transcription worker's JobStore (jobs).

Moved here from recordings/ so that edge package holds only files, audio, engines and the worker
(docs/adr/voicemail-domain-in-app.md). May import: app kernel, app.auth, app.calls, app.cases
(a message is a case; a transcript reaches it through cases.service.attach_transcript),
app.callbacks, app.telephony, app.health, recordings. Commits: only the boundaries (agi, jobs,
orphans, router, lifecycle); service.py never commits. Publishes (events.py): case.created,
voicemail.new, voicemail.transcribed, and the cases service's case.transcript.
"""
