"""``python -m app.voicemail.worker [--once] [--lease-s 30] [--poll-s 2]``: a transcription worker
process on the service's database (settings from HOTLINE_* env); several at once on PostgreSQL."""

from app.voicemail.lifecycle import worker_main

if __name__ == "__main__":
    raise SystemExit(worker_main())
