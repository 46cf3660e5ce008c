#!/usr/bin/env bash
# check.sh — full recorded check with 1 % drift at 1 M and 10 M pairs: pairs/s,
# wall time and peak memory of `lockstep check`, and the same-run ratio to
# sqlite3's own count(*) over the same join.
set -euo pipefail
source "$(dirname "$0")/common.sh"
echo "## Full recorded check, 1 % drift (target >= 3 M pairs/s, peak memory < 100 MB)"
for n in ${BENCH_SIZES:-1000000 10000000}; do
  dir=$(demo_store "$n")
  db=$dir/lockstep.db
  "$BIN" --data-dir "$dir" check > /dev/null || true   # first check opens the violations
  durs=() walls=() rss=() lefts=() fulls=()
  for i in 1 2 3 4 5; do
    out=$( { /usr/bin/time -f "TIME %e %M" "$BIN" --data-dir "$dir" check; } 2>&1 || true)
    durs+=("$(sed -n 's/.* in \([0-9.]*\) ms.*/\1/p' <<<"$out" | head -1)")
    walls+=("$(awk '/^TIME/ {print $2}' <<<"$out")")
    rss+=("$(awk '/^TIME/ {print $3}' <<<"$out")")
    t0=$(date +%s.%N)
    sqlite3 "$db" "SELECT count(*) FROM specialization_progress p LEFT JOIN user_licenses l ON l.user_id = p.student_id AND l.specialization_type = p.specialization_id" > /dev/null
    lefts+=("$(echo "$(date +%s.%N) - $t0" | bc)")
    t0=$(date +%s.%N)
    sqlite3 "$db" "SELECT count(*) FROM specialization_progress p FULL OUTER JOIN user_licenses l ON l.user_id = p.student_id AND l.specialization_type = p.specialization_id" > /dev/null
    fulls+=("$(echo "$(date +%s.%N) - $t0" | bc)")
  done
  d=$(printf '%s\n' "${durs[@]}" | median)
  w=$(printf '%s\n' "${walls[@]}" | median)
  m=$(printf '%s\n' "${rss[@]}" | sort -g | tail -1)
  l=$(printf '%s\n' "${lefts[@]}" | median)
  f=$(printf '%s\n' "${fulls[@]}" | median)
  pairs=$(sqlite3 "$db" "SELECT total_checked FROM check_runs ORDER BY id DESC LIMIT 1")
  awk -v n="$pairs" -v d="$d" -v w="$w" -v m="$m" -v l="$l" -v f="$f" 'BEGIN {
    printf "%d pairs: check %.0f ms (%.2f M pairs/s), whole process %.2f s wall (%.2f M pairs/s incl. recording and the file), peak RSS %.1f MB\n", n, d, n/d/1000, w, n/w/1e6, m/1024;
    printf "   sqlite3 count(*) LEFT JOIN %.2f s, FULL OUTER JOIN %.2f s; ratio check/LEFT %.2f, check/FULL %.2f (median of 5)\n", l, f, d/1000/l, d/1000/f }'
done
