"""User administration (用户管理): the administrators' API and page, and `hotline user ...` (cli). Above app.auth (identity, sessions)
and app.units (a unit handler must name an existing unit), so neither has to import the other
upward. May import: app kernel, app.auth, app.units, app.web. Commits: its router. Publishes nothing."""
