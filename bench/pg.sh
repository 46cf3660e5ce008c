#!/usr/bin/env bash
# pg.sh — the PostgreSQL store on a throwaway local server: full check over
# 1 M and 10 M pairs (pairs/s, client peak memory, ratio to psql's count(*) over
# the same join in the same run) and coupled level updates from 1 and 8
# connections.
set -euo pipefail
source "$(dirname "$0")/common.sh"
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d /tmp/lockstep-pgbench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$work"
trap 'as_pg "$pgbin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1; rm -rf "$work"' EXIT
as_pg "$pgbin/initdb" -D "$work/data" -A trust -U postgres --no-sync > /dev/null
as_pg "$pgbin/pg_ctl" -D "$work/data" -l "$work/log" -w start -o "-c listen_addresses=127.0.0.1 -p $port -k $work -c shared_buffers=512MB -c max_wal_size=4GB -c checkpoint_timeout=30min" > /dev/null
base="postgres://postgres@127.0.0.1:$port"
echo "## PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') (local, default durability), full recorded check, 1 % drift"
for n in ${BENCH_SIZES:-1000000 10000000}; do
  db="lk$n"
  psql -X -q "$base/postgres" -c "CREATE DATABASE $db"
  url="$base/$db"
  "$BIN" --db "$url" --data-dir "$work/d$n" migrate > /dev/null
  t0=$(date +%s.%N)
  psql -X -q "$url" <<SQL
INSERT INTO users(name, email, password_hash, role, is_active, created_at, updated_at)
  SELECT 'Student ' || g, 'student' || g || '@bench.local', '!', 'student', true, now(), now() FROM generate_series(1, $n) g;
INSERT INTO specialization_progress(student_id, specialization_id, current_level, created_at, updated_at)
  SELECT id, (ARRAY['COACH','INTERNSHIP','PLAYER'])[1 + id % 3], 1 + id % 3, now(), now() FROM users;
INSERT INTO user_licenses(user_id, specialization_type, current_level, max_achieved_level, started_at, created_at, updated_at)
  SELECT id, (ARRAY['COACH','INTERNSHIP','PLAYER'])[1 + id % 3], CASE WHEN id % 100 = 0 THEN 1 + (id + 1) % 3 ELSE 1 + id % 3 END, 3, now(), now(), now() FROM users;
TRUNCATE pair_changes; -- a bulk load: the first full check reads it all (as demo does)
UPDATE watch_state SET initialized = false;
VACUUM ANALYZE;
SQL
  echo "  (loaded $n pairs in $(echo "$(date +%s.%N) - $t0" | bc) s)" >&2
  "$BIN" --db "$url" --data-dir "$work/d$n" check > /dev/null || true
  durs=() walls=() rss=() counts=()
  for i in 1 2 3; do
    out=$( { /usr/bin/time -f "TIME %e %M" "$BIN" --db "$url" --data-dir "$work/d$n" check; } 2>&1 || true)
    durs+=("$(sed -n 's/.* in \([0-9.]*\) ms.*/\1/p' <<<"$out" | head -1)")
    walls+=("$(awk '/^TIME/ {print $2}' <<<"$out")")
    rss+=("$(awk '/^TIME/ {print $3}' <<<"$out")")
    t0=$(date +%s.%N)
    psql -X -q -At "$url" -c "SELECT count(*) FROM specialization_progress p FULL JOIN user_licenses l ON l.user_id = p.student_id AND l.specialization_type = p.specialization_id" > /dev/null
    counts+=("$(echo "$(date +%s.%N) - $t0" | bc)")
  done
  d=$(printf '%s\n' "${durs[@]}" | median); w=$(printf '%s\n' "${walls[@]}" | median)
  m=$(printf '%s\n' "${rss[@]}" | sort -g | tail -1); c=$(printf '%s\n' "${counts[@]}" | median)
  awk -v n="$n" -v d="$d" -v w="$w" -v m="$m" -v c="$c" 'BEGIN {
    printf "%d pairs: check %.0f ms (%.2f M pairs/s), whole process %.2f s wall, client peak RSS %.1f MB\n", n, d, n/d/1000, w, m/1024;
    printf "   psql count(*) over the same FULL JOIN %.2f s; ratio check/count %.2f (median of 3)\n", c, d/1000/c }'
done
echo "## Coupled level updates, PostgreSQL"
db=lkupd
psql -X -q "$base/postgres" -c "CREATE DATABASE $db"
"$BIN" --db "$base/$db" --data-dir "$work/du" demo --users 2000 > /dev/null
"$BUILD/bench_enforcer" "$base/$db" 5 1
"$BUILD/bench_enforcer" "$base/$db" 5 8
