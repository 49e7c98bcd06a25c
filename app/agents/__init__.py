"""Agent desktop (坐席): sign-in to queues, pause/wrap-up through AMI, screen-pop, /ws/agent.

May import: app kernel, app.runtime, app.auth, app.calls, app.telephony, app.realtime (socket
helpers), app.web. Declares the AGENTS slot. Commits: only its router and component (agent session
rows); service.py never commits. Publishes: agent.screenpop (component)."""
