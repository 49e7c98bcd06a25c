#!/usr/bin/env bash
# Makes the services the tests need reachable: PostgreSQL on 127.0.0.1:5432 (trust auth, database
# `test`). Starts the machine's cluster when it is installed but not running. Exits non-zero when
# PostgreSQL is still not reachable afterwards: `make test` (and so CI) stops here with the reason
# instead of running a suite whose PostgreSQL half would fail test by test.
set -u
pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
if pg_up; then
  echo "postgresql: reachable on 127.0.0.1:5432"
  exit 0
fi
if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql)" ]; then
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "postgresql: not running; starting cluster $ver/main"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || echo "postgresql: pg_ctlcluster $ver main start failed" >&2
  for _ in $(seq 1 100); do pg_up && break; sleep 0.2; done
else
  echo "postgresql: no cluster installed (pg_ctlcluster / /etc/postgresql missing)" >&2
fi
if pg_up; then
  echo "postgresql: started on 127.0.0.1:5432"
  exit 0
fi
echo "postgresql: NOT reachable on 127.0.0.1:5432 after trying to start it. Install it with" \
  "scripts/install-system-deps.sh (trust auth for 127.0.0.1, a 'test' database)." >&2
exit 1
