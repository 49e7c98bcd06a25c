"""Voicemail audio at the edge: where files live (storage), reading and inspecting audio (audio),
offline speech-to-text engines (stt), transcript normalisation (textnorm) and the transcription
worker (worker), whose database access is the ``JobStore`` port.

May import: callflow, ivr, the stdlib and third-party libraries — never app or agi_handlers. The
rows (recordings, jobs, corrections), the inbox and the case they belong to are app.voicemail's
(docs/adr/voicemail-domain-in-app.md). Commits nothing, publishes nothing: the port's
implementation does both.
"""
