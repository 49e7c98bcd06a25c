"""Case exchange between deployments (双向对接): the protocol in docs/exchange/ (OpenAPI + JSON Schema).

- ``protocol``: the message envelope, signing and verification (pure: no I/O).
- ``sequencing``: exactly-once, in-order application per case whatever the delivery order (pure).
- ``models``: links (per peer and case: sequence numbers both ways), the outbox, the inbox, nonces,
  refused requests.
- ``service``: the transition listener that queues messages with the case's transaction; applying a
  peer's message to the local mirror of a case. No commits. ``unitpeers``: units whose own system is a peer.
- ``inbound``: POST /exchange/v1/messages (verification, audit of every refusal; commits); ``batch``:
  POST /exchange/v1/batch, several messages in one signed request (one transaction).
- ``worker``: the delivery worker (claims with SKIP LOCKED on PostgreSQL; exponential retry).
- ``pulls``: signed GETs peers pull shared data with (daily statistics, published knowledge; ``knowledge``).
- ``router``: the administrators' API and page (peers, health, undelivered/rejected, retry/cancel).
May import: app.cases (cases, the transition table), app.kb (published articles), app.auth, app.db, app.settings."""
