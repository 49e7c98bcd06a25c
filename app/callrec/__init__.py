"""Agent-call recordings (MixMonitor): each answered call's file attached to its call row (and so to its
case), played by supervisors of its platform and by its own agent, purged after the retention;
a failed recording is flagged, listed and reported by /health. May import: calls, auth, kernel."""
