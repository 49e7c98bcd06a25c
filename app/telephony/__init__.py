"""The telephony side of the service: AMI connections (ami), the ordered batched consumer with one
subscription table (consumer, handlers, subscriptions), live queue state (state), the public
Originate (originate), the DecisionSink port of the `incoming` AGI route (decisions), and the starter
that serves the AGI routes the composition root hands it (lifecycle; TELEPHONY slot).

May import: app kernel, app.runtime, app.calls, agi_handlers (server, ports, channel_vars). Never a
domain above it. Commits: the consumer (one transaction per batch of AMI events). Publishes: call.*,
queue.*, agent.state/called/connect/complete, outbound.*, telephony.resync, calls.reconciled."""
