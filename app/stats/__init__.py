"""Supervisor wallboard (监控大屏): KPIs (kpi.py is pure), the live queue/agent picture, the abandoned-call
list, /ws/wallboard. Topics it follows are declared once in topics.py.

May import: app kernel, app.runtime, app.auth, app.calls, app.agents, app.callbacks (the abandoned
list shows each call-back), app.surveys (satisfaction), app.telephony, app.realtime, app.web.
Commits nothing (read-only). Publishes nothing. Declares the STATS slot (KPI cache)."""
