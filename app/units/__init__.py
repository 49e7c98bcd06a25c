"""Units directory (承办单位): the departments and utilities cases are dispatched to.

- May import: ``app.db``, ``app.auth`` (roles), the runtime's platform config (router: known platforms).
- Commits: only its router; ``service`` never commits.
- Publishes: nothing.
"""
