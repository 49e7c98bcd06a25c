"""Public, unauthenticated views: case status by number, published cases, Open311 GeoReport v2.

- May import: ``app.cases`` (models, workflow labels, masking), ``app.units`` (models), ``app.db``.
  Read-only: personal data is masked in every field.
- Commits: never (GET only).
- Publishes: nothing.
"""
