"""Exactly once, in order, whatever the delivery: the decision for one incoming message of one
(peer, case) stream, given the last sequence number applied and the numbers parked. Pure.

A message whose number was applied already is a duplicate (acknowledged, nothing changes); the next
number is applied, followed by every parked successor in an unbroken run; a later number is parked
until the gap before it is filled."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

APPLY, PARK, DUPLICATE = "apply", "park", "duplicate"


@dataclass(frozen=True)
class Decision:
    kind: str  # APPLY | PARK | DUPLICATE
    apply: list[int] = field(default_factory=list)  # sequence numbers to apply now, in order


def decide(applied: int, parked: Collection[int], seq: int) -> Decision:
    if seq <= applied or seq in parked:
        return Decision(DUPLICATE)
    if seq != applied + 1:
        return Decision(PARK)
    run, nxt = [seq], seq + 1
    while nxt in parked:
        run.append(nxt)
        nxt += 1
    return Decision(APPLY, run)
