#!/usr/bin/env bash
# Makes the services the tests need reachable: PostgreSQL on 127.0.0.1:5432 (trust auth, database
# `test`). Starts the machine's cluster when it is installed but not running; otherwise says so
# (the PostgreSQL half of the suite then fails in CI and is skipped elsewhere).
set -u
pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
if pg_up; then
  echo "postgresql: reachable on 127.0.0.1:5432"
  exit 0
fi
if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 1 50); do pg_up && break; sleep 0.2; done
fi
if pg_up; then
  echo "postgresql: started on 127.0.0.1:5432"
else
  echo "postgresql: NOT reachable on 127.0.0.1:5432 (install postgresql with trust auth for 127.0.0.1 and a 'test' database)" >&2
fi
exit 0
