"""The transcription worker's JobStore port (recordings.worker), on the service's database: each
call is one unit of work that commits, then publishes what it produced (voicemail.transcribed and
the case's events)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.events import Event, EventHub
from app.voicemail import service
from app.voicemail.events import transcribed
from app.voicemail.models import Recording, TranscriptionJob
from recordings.stt import Transcript
from recordings.worker import ClaimedJob, status_of


class DbJobStore:
    def __init__(self, db: Database, hub: EventHub | None = None) -> None:
        self.db, self.hub = db, hub

    async def _publish(self, events: list[Event]) -> None:
        if self.hub is not None:
            await self.hub.publish_all(events)

    async def claim(self, owner: str, lease_s: float) -> ClaimedJob | None:
        events: list[Event] = []
        async with self.db.sessionmaker() as s:
            job = await service.claim(s, owner, lease_s, events=events)
            rec = await s.get(Recording, job.recording_id) if job is not None else None
            await s.commit()
        await self._publish(events)
        if job is None:
            return None
        return ClaimedJob(
            job_id=job.id, attempt=job.attempts, recording_id=job.recording_id,
            path=Path(rec.path) if rec is not None else None, platform=rec.platform if rec is not None else None,
        )  # fmt: skip

    async def _job(self, s: AsyncSession, job: ClaimedJob) -> TranscriptionJob:
        row = await s.get(TranscriptionJob, job.job_id)
        assert row is not None  # jobs are never deleted while their recording exists
        return row

    async def heartbeat(self, job: ClaimedJob, owner: str, lease_s: float) -> bool:
        async with self.db.sessionmaker() as s:
            ok = await service.heartbeat(s, job.job_id, owner, job.attempt, lease_s)
            await s.commit()
        return ok

    async def finish(
        self, job: ClaimedJob, transcript: Transcript | None, error: str | None, *, seconds: float, engine: str
    ) -> bool:
        events: list[Event] = []
        async with self.db.sessionmaker() as s:
            ok = await service.finish(s, await self._job(s, job), job.attempt, transcript, error, events)
            await s.commit()
        if ok:
            done = transcribed(job.recording_id, status_of(transcript), job.platform, seconds, engine)
            await self._publish([*events, done])
        return ok

    async def release(
        self, job: ClaimedJob, error: str, *, count_attempt: bool, waiting_reason: str | None = None
    ) -> None:
        events: list[Event] = []
        async with self.db.sessionmaker() as s:
            await service.release(s, await self._job(s, job), job.attempt, error, count_attempt=count_attempt,
                                  events=events)  # fmt: skip
            if waiting_reason is not None:
                await service.mark_waiting_for_model(s, waiting_reason)
            await s.commit()
        await self._publish(events)
