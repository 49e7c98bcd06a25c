"""The composition root's wiring of the edges: each port an edge package declares is implemented by
the app domain that owns the data, and bound here (agi_handlers.ports.AgiPorts; the transcription
worker's JobStore is bound in app.voicemail.lifecycle.make_worker).

Only the composition root (this module, app.lifecycle, app.routers, app.models_registry, app.main,
app.cli) may import several domains at once to compose them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from agi_handlers.ports import DecisionSink
from agi_handlers.routes import ROUTE_TIMEOUTS, bind
from app.callbacks.queued import QueueCallbackPort
from app.runtime import Runtime
from app.surveys.agi import SurveyCallsPort
from app.telephony.decisions import CarriedByCall, DecisionWriter
from app.telephony.lifecycle import TELEPHONY, telephony
from app.voicemail.agi import VoicemailPort
from callflow import HotlineConfig


class AgiWiring:
    """agi_handlers.ports.AgiPorts for one running service."""

    def __init__(self, rt: Runtime, decisions: DecisionSink | None = None) -> None:
        self.rt = rt
        self.decisions = decisions or DecisionWriter(rt)
        self.voicemail = VoicemailPort(rt)
        self.surveys = SurveyCallsPort(rt)
        self.queue_callbacks = QueueCallbackPort(rt)

    @property
    def config(self) -> HotlineConfig:
        return self.rt.config

    def queue_agents(self) -> Mapping[str, int] | None:
        """The agents routing counts per queue: wrap-up included (TelephonyState.routable_by_queue)."""
        tel = self.rt.get(TELEPHONY)
        return tel.state.routable_by_queue() if tel is not None else None

    def queue_waiting(self) -> Mapping[str, int] | None:
        tel = self.rt.get(TELEPHONY)
        return tel.state.waiting_by_queue() if tel is not None else None


@asynccontextmanager
async def telephony_with_agi(rt: Runtime) -> AsyncIterator[None]:
    """STARTERS entry: telephony serving the AGI routes, bound to this service's ports."""
    async with telephony(rt, bind(AgiWiring(rt)), ROUTE_TIMEOUTS):
        yield


@asynccontextmanager
async def telephony_of_agi_process(rt: Runtime) -> AsyncIterator[None]:
    """STARTERS entry of `hotline agi`: the AGI routes on the live state the AMI leader shares; the
    routing decisions travel with the calls to the leader (app.telephony.decisions.CarriedByCall)."""
    async with telephony(rt, bind(AgiWiring(rt, CarriedByCall())), ROUTE_TIMEOUTS):
        yield
