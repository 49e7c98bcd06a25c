"""Reports (统计报表): any date range by day/week/month and by platform, source hotline, channel, unit or
category; drill-down to the calls and cases behind a figure; CSV and Excel export; the daily and
monthly report sent by e-mail on schedule. figures.py is pure; queries.py holds the SQL.

May import: app kernel, app.runtime, app.auth, app.calls, app.cases, app.units, app.outbox, app.web.
Commits only in its router and scheduler (report deliveries). Simulated calls are never counted."""
