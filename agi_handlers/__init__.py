"""FastAGI server and one module per AGI route (see routes.ROUTES); the edge between Asterisk's
dialplan and the service.

May import: callflow, ivr, the stdlib and third-party libraries — never app or recordings. What a
route needs from the service is a port in ``ports`` (typing.Protocol) that app implements and binds
at its composition root (app.wiring). Commits nothing (the ports' implementations do), publishes
nothing itself.
"""
