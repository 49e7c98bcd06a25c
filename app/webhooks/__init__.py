"""Webhooks of the other channels, each in its platform's own protocol, each refusing forged calls:

- ``wechat``  the WeChat official account's message push (URL verification, signature check, plain
  and encrypted (AES) mode, a passive reply carrying the case number);
- ``apps``    one generic signed intake API (HMAC-SHA256 over timestamp and body) for Weibo, the
  province's app and any other app (settings.intake_apps names each app, its channel and secret);
- ``open311`` Open311 GeoReport v2 ``POST requests`` (api_key) and service definitions.

May import: app kernel, app.intake, app.cases (context, categories). Commits: only the routers.
Publishes: the intake domain's events.
"""
