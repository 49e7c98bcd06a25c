"""Identity and sessions: users, password hashing, the token signer, login throttling, role checks
(deps.require_roles) on every route and socket. Low in app's layers (app.runtime builds its signer
and throttle): may import only the app kernel (db, deps, events, settings) — user administration,
which also needs app.units, is app.users. Commits: its router. Publishes nothing."""
