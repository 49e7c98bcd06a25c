"""The VoicemailStore port of the `voicemail` AGI route: the boundary that stores a message —
recording row, case and transcription job in one transaction — then publishes and wakes the worker."""

from __future__ import annotations

from pathlib import Path

from app.cases import events as case_events
from app.cases.context import of_runtime
from app.runtime import Runtime
from app.voicemail import events, service
from app.voicemail.component import kick, no_model
from recordings.files import private_dirs, private_file


class VoicemailPort:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    @property
    def max_record_s(self) -> float:
        return float(self.rt.settings.voicemail_max_s)

    def recording_path(self, uniqueid: str) -> Path:
        path = service.recording_path(self.rt.settings, uniqueid)
        private_dirs(path.parent, path.parents[3])  # <recordings_dir>/YYYY/MM/DD, mode 0700
        return path

    def has_platform(self, code: str) -> bool:
        return of_runtime(self.rt).has_platform(code)

    async def store(
        self, path: Path, *, caller: str, platform: str, prefecture: str | None, mailbox: str | None,
        uniqueid: str,
    ) -> tuple[int, str]:  # fmt: skip
        """Commit recording + case + job; returns (recording id, case number) and wakes the worker."""
        rt = self.rt
        private_file(path)
        problem = no_model(rt)
        async with rt.db.sessionmaker() as session:
            rec, case = await service.store_voicemail(
                session, path=path, caller=caller, platform=platform, prefecture=prefecture, mailbox=mailbox,
                call_uniqueid=uniqueid, no_model=problem, ctx=of_runtime(rt),
            )  # fmt: skip
            await session.commit()
        kick(rt)
        await rt.hub.publish(case_events.created(case))
        await rt.hub.publish(events.new_message(rec, case))
        return rec.id, case.number
