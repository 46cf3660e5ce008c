#!/usr/bin/env bash
# sweep_pg.sh — the PostgreSQL full check against psql's count(*) over the
# same FULL JOIN, two builds taking turns on one store (watch.md: a full
# sweep ≤ 1.2 × that count). Each round runs `lockstep check` with each
# build (recorded: its own duration) and then psql, each a fresh process;
# prints each one's median and its ratio to the count's median.
#   bench/sweep_pg.sh BUILD_BEFORE BUILD_AFTER POSTGRES_URL [ROUNDS]
# The store is any Lockstep database with pairs (bench/pg.sh makes them:
# one pair per user, 1 % drift); the checks record runs and violations there.
# SWEEP_DRY_RUN=1 runs `check --dry-run` instead: the sweep alone, nothing
# recorded.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: bench/sweep_pg.sh BUILD_BEFORE BUILD_AFTER POSTGRES_URL [ROUNDS]" >&2; exit 2; }
before=$1/lockstep after=$2/lockstep url=$3 rounds=${4:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/before" "$work/after"
join="specialization_progress p FULL JOIN user_licenses l ON l.user_id = p.student_id AND l.specialization_type = p.specialization_id"
for i in $(seq 1 "$rounds"); do
  for b in before after; do
    bin=$before; [ $b = after ] && bin=$after
    "$bin" --db "$url" --data-dir "$work/$b" check ${SWEEP_DRY_RUN:+--dry-run} 2>/dev/null |
      sed -n 's/.* in \([0-9.]*\) ms.*/\1/p' | head -1 >> "$work/$b.ms" || true
  done
  s=$(date +%s%N)
  psql -X -q -At "$url" -c "SELECT count(*) FROM $join" > /dev/null
  e=$(date +%s%N)
  echo $(( (e - s) / 1000 )) | awk '{printf "%.1f\n", $1 / 1000}' >> "$work/count.ms"
done
median() { sort -n "$1" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
c=$(median "$work/count.ms")
for k in before after count; do
  m=$(median "$work/$k.ms")
  printf "%-7s median %8.0f ms  ratio to count(*) %.2f  (%s)\n" "$k" "$m" "$(awk -v m="$m" -v c="$c" 'BEGIN {print m / c}')" "$(paste -sd' ' "$work/$k.ms")"
done
