#!/usr/bin/env bash
# watch_pg.sh — the watcher of watch.md on a throwaway local PostgreSQL
# server, at each size of BENCH_PG_WATCH_SIZES (default 1,000,000 pairs, 1 %
# drift): changed pairs applied per second (one UPDATE of WATCH_BURST pairs,
# from its commit until nothing is pending), the detection lag while pgbench
# commits WATCH_RATE (2,000) level changes/s for WATCH_SECONDS (10), serve's
# peak memory (the writer commits without waiting for the disk, so that the
# rate is reachable on a slow disk); and coupled updates/s with and without the capture triggers
# (alternating, median of 3).
set -euo pipefail
source "$(dirname "$0")/common.sh"
burst=${WATCH_BURST:-200000}
rate=${WATCH_RATE:-2000}
secs=${WATCH_SECONDS:-10}
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d /tmp/lockstep-pgwatch.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$work"
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; as_pg "$pgbin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1; rm -rf "$work"' EXIT
as_pg "$pgbin/initdb" -D "$work/data" -A trust -U postgres --no-sync > /dev/null
as_pg "$pgbin/pg_ctl" -D "$work/data" -l "$work/log" -w start -o "-c listen_addresses=127.0.0.1 -p $port -k $work -c shared_buffers=512MB -c max_wal_size=4GB -c checkpoint_timeout=30min" > /dev/null
base="postgres://postgres@127.0.0.1:$port"
echo "## The watcher, PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') (local, default durability)"
for n in ${BENCH_PG_WATCH_SIZES:-1000000}; do
  db="w$n"
  psql -X -q "$base/postgres" -c "CREATE DATABASE $db"
  url="$base/$db"
  "$BIN" --db "$url" --data-dir "$work/d$n" demo --users 10 > "$work/demo$n.txt"
  psql -X -q "$url" <<SQL
INSERT INTO users(name, email, password_hash, role, is_active, created_at, updated_at)
  SELECT 'Student ' || g, 'student' || g || '@bench.local', '!', 'student', true, now(), now() FROM generate_series(1, $n) g;
INSERT INTO specialization_progress(student_id, specialization_id, current_level, created_at, updated_at)
  SELECT id, (ARRAY['COACH','INTERNSHIP','PLAYER'])[1 + id % 3], 1 + id % 3, now(), now() FROM users WHERE id > 11;
INSERT INTO user_licenses(user_id, specialization_type, current_level, max_achieved_level, started_at, created_at, updated_at)
  SELECT id, (ARRAY['COACH','INTERNSHIP','PLAYER'])[1 + id % 3], CASE WHEN id % 100 = 0 THEN 1 + (id + 1) % 3 ELSE 1 + id % 3 END, 3, now(), now(), now() FROM users WHERE id > 11;
TRUNCATE pair_changes;
UPDATE watch_state SET initialized = false;
VACUUM ANALYZE;
SQL
  password=$(awk '/password:/ {print $2}' "$work/demo$n.txt")
  log=$work/serve$n.log
  LOCKSTEP_ACCESS_LOG=false LOCKSTEP_WATCH_MODE=triggers \
    "$BIN" --db "$url" --data-dir "$work/d$n" serve --listen 127.0.0.1:0 > "$log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do grep -q 'serving on' "$log" && break; sleep 0.1; done
  sport=$(sed -n 's/.*serving on http:\/\/127\.0\.0\.1:\([0-9]*\)\/.*/\1/p' "$log" | head -1)
  t0=$(date +%s.%N)
  until [ "$(psql -X -At "$url" -c "SELECT initialized FROM watch_state")" = t ]; do sleep 0.1; done
  sweep=$(echo "$(date +%s.%N) - $t0" | bc)

  psql -X -q "$url" -c "UPDATE user_licenses SET current_level = CASE WHEN current_level > 1 THEN current_level - 1 ELSE 2 END WHERE user_id <= $((burst + 11))"
  t1=$(date +%s.%N)
  while [ "$(psql -X -At "$url" -c "SELECT count(*) FROM (SELECT 1 FROM pair_changes LIMIT 1) p")" != 0 ]; do sleep 0.02; done
  t2=$(date +%s.%N)

  cat > "$work/drift.sql" <<SQL
\set u random(12, $n)
UPDATE user_licenses SET current_level = CASE WHEN current_level > 1 THEN current_level - 1 ELSE 2 END WHERE user_id = :u;
SQL
  before=$(curl -sf "http://127.0.0.1:$sport/metrics" | grep '^lockstep_detection_lag_seconds_\(bucket\|count\)')
  commits=$(PGOPTIONS="-c synchronous_commit=off" "$pgbin/pgbench" -n -f "$work/drift.sql" -R "$rate" -T "$secs" -c 4 -j 2 "$url" 2>/dev/null |
            awk '/number of transactions actually processed/ {print $NF}' | cut -d/ -f1)
  while [ "$(psql -X -At "$url" -c "SELECT count(*) FROM (SELECT 1 FROM pair_changes LIMIT 1) p")" != 0 ]; do sleep 0.05; done
  after=$(curl -sf "http://127.0.0.1:$sport/metrics" | grep '^lockstep_detection_lag_seconds_\(bucket\|count\)')
  rss=$(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$pid/status")
  kill $pid; wait $pid 2>/dev/null || true; pid=
  lag=$(paste -d ' ' <(echo "$before") <(echo "$after") | awk '
    { name = $1; d = $4 - $2; if (name ~ /_count$/) total = d; else { le[++k] = name; cnt[k] = d } }
    END { for (i = 1; i <= k; i++) { m = le[i]; sub(/.*le="/, "", m); sub(/".*/, "", m)
            if (m == "1") within = cnt[i]; if (!p99 && cnt[i] >= 0.99 * total) p99 = m }
          printf "%d changes, %.2f %% within 1 s, p99 <= %s s", total, 100 * within / total, p99 }')
  awk -v n="$n" -v s="$sweep" -v b="$burst" -v t="$(echo "$t2 - $t1" | bc)" -v c="$commits" \
      -v r="$rss" -v lag="$lag" -v secs="$secs" 'BEGIN {
    printf "%d pairs: start sweep ready after %.1f s; %d changed pairs applied in %.2f s = %.0f pairs/s\n", n, s, b, t, b / t;
    printf "   detection lag at %.0f commits/s (pgbench): %s; serve peak RSS %d MB\n", c / secs, lag, r }'
done

db=wupd
psql -X -q "$base/postgres" -c "CREATE DATABASE $db"
"$BIN" --db "$base/$db" --data-dir "$work/du" demo --users 2000 > /dev/null
with=() without=()
for i in 1 2 3; do
  psql -X -q "$base/$db" -c "TRUNCATE pair_changes"
  with+=("$("$BUILD/bench_enforcer" "$base/$db" 3 1 | grep -o '[0-9]* updates/s' | awk '{print $1}')")
  psql -X -q "$base/$db" -c "ALTER TABLE specialization_progress DISABLE TRIGGER USER; ALTER TABLE user_licenses DISABLE TRIGGER USER"
  without+=("$("$BUILD/bench_enforcer" "$base/$db" 3 1 | grep -o '[0-9]* updates/s' | awk '{print $1}')")
  psql -X -q "$base/$db" -c "ALTER TABLE specialization_progress ENABLE TRIGGER USER; ALTER TABLE user_licenses ENABLE TRIGGER USER"
done
w=$(printf '%s\n' "${with[@]}" | median)
wo=$(printf '%s\n' "${without[@]}" | median)
awk -v w="$w" -v wo="$wo" 'BEGIN { printf "coupled updates/s, one connection: %d with the capture triggers, %d without (%.1f %% fewer; target <= 15 %%)\n", w, wo, 100 * (wo - w) / wo }'
