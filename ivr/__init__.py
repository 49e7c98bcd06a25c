"""IVR content as data: prompt ids and files (prompts; placeholder WAVs synthesised with espeak-ng on
request), the survey script and its DTMF grammar (survey). Pure core: may import only the stdlib
(and callflow) — never an edge or app (import contract "direction"). Commits nothing, publishes
nothing."""
