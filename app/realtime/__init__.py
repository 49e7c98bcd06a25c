"""WebSocket plumbing shared by the agent desktop and the wallboard (ws.py). May import: app kernel,
app.auth. Commits nothing, publishes nothing. (The desktop and wallboard themselves are app.agents
and app.stats; the composition root starts and routes them.)"""
