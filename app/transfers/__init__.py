"""Live transfers (转接) of calls between agents, platforms and outside numbers (issue 10)."""
