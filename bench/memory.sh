#!/usr/bin/env bash
# memory.sh — serve's resident memory (VmRSS) under clients that request the
# big answers and never read them: a store of MEMORY_PAIRS pairs (default
# 1,000,000) with ~5.4 % drift (~54,000 violations), one recorded check, then
# MEMORY_CLIENTS (40) non-reading clients over status, violations,
# latest-report, desync-issues, sync/all (dry run) and check-now (dry run).
# Prints VmRSS idle, the peak while they wait, and after they are gone.
set -euo pipefail
. "$(dirname "$0")/common.sh"
pairs=${MEMORY_PAIRS:-1000000}
clients=${MEMORY_CLIENTS:-40}
hold=${MEMORY_HOLD_SECONDS:-45}
dir=$DATA/memory-$pairs
if [ ! -e "$dir/lockstep.db" ]; then
  rm -rf "$dir"
  "$BIN" --data-dir "$dir" demo --users "$pairs" --drift 5.4 --seed 42 > "$dir.demo.txt"
  "$BIN" --data-dir "$dir" check > /dev/null || true   # exits non-zero when not healthy
fi
password=$(awk '/password:/ {print $2}' "$dir.demo.txt")

log=$(mktemp)
LOCKSTEP_ACCESS_LOG=false LOCKSTEP_CHECK_INTERVAL=86400 LOCKSTEP_SYNC_INTERVAL=2592000 \
  "$BIN" --data-dir "$dir" serve --listen 127.0.0.1:0 > "$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q 'serving on' "$log" && break; sleep 0.1; done
port=$(sed -n 's/.*serving on http:\/\/127\.0\.0\.1:\([0-9]*\)\/.*/\1/p' "$log" | head -1)
token=$(curl -sf "http://127.0.0.1:$port/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\":\"admin@lockstep.local\",\"password\":\"$password\"}" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
rss() { awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$pid/status"; }
# Anonymous memory (heap, SQLite's page caches) and file pages mapped (the binary, libraries).
parts() { awk '/RssAnon/ {a=int($2/1024)} /RssFile/ {f=int($2/1024)} END {printf "anon %d MB, file %d MB", a, f}' "/proc/$pid/status"; }
sizes=$(for p in health/status health/violations health/latest-report licenses/admin/sync/desync-issues; do
  printf '%s %s, ' "$p" "$(curl -s -o /dev/null -w '%{size_download}' -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/$p")"; done)
idle=$(rss)
peak=$idle
exec 3> >(node "$(dirname "$0")/slow_readers.mjs" "$port" "$token" "$clients")
t_end=$((SECONDS + hold))
while [ $SECONDS -lt $t_end ]; do
  r=$(rss); [ "$r" -gt "$peak" ] && peak=$r
  sleep 0.2
done
held=$(rss)
exec 3>&-
sleep 3
after=$(rss)
after_parts=$(parts)
echo "## memory: $pairs pairs, $(awk '/drifted/ {print}' "$dir.demo.txt" | head -1 | tr -s ' ')"
echo "answer sizes (bytes): ${sizes%, }"
echo "$clients clients that do not read: VmRSS idle ${idle} MB, peak ${peak} MB, at ${hold} s ${held} MB, 3 s after they close ${after} MB ($after_parts)"
