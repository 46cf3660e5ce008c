#!/usr/bin/env bash
# scheduler.sh — a scheduled check of a 1 M-pair store inside `serve`, and the
# latency of GET /health/status while such checks run back to back.
set -euo pipefail
source "$(dirname "$0")/common.sh"
src=$(demo_store 1000000)
work=$(mktemp -d)
trap 'set +e; kill $(jobs -p) 2>/dev/null; rm -rf $work' EXIT
cp "$src/lockstep.db" "$work/lockstep.db"
pw=$(awk '/password:/ {print $2}' "$src.demo.txt")
LOCKSTEP_CHECK_INTERVAL=5 LOCKSTEP_SYNC_INTERVAL=86400 \
  "$BIN" --data-dir "$work" serve --listen 127.0.0.1:18090 > "$work/serve.out" 2> /dev/null &
pid=$!
for _ in $(seq 50); do grep -q serving "$work/serve.out" && break; sleep 0.1; done
sleep 12
echo "## scheduled check of 1 M pairs inside serve (interval 300 s in production)"
sqlite3 "$work/lockstep.db" "SELECT printf('scheduled check: %d pairs in %.0f ms (%.2f M pairs/s)', total_checked, duration_ms, total_checked / duration_ms / 1000.0) FROM check_runs WHERE trigger = 'scheduled' ORDER BY id DESC LIMIT 2"
sqlite3 "$work/lockstep.db" "SELECT printf('job run %s: %.0f ms start to end', status, (julianday(finished_at) - julianday(started_at)) * 86400000) FROM job_runs WHERE job_id = 'coupling_health_check' AND status <> 'missed' ORDER BY id DESC LIMIT 2"
token=$(curl -s -X POST -d "{\"email\":\"admin@lockstep.local\",\"password\":\"$pw\"}" \
  http://127.0.0.1:18090/api/v1/auth/login | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
size=$(curl -s -H "Authorization: Bearer $token" http://127.0.0.1:18090/api/v1/health/status | wc -c)
for ep in status metrics; do
  echo "## GET /health/$ep while 1 M-pair checks run back to back (wrk -t2 -c16 -d10s)"
  [ $ep = status ] && echo "(the status answer lists every open violation: $size bytes here)"
  ( end=$((SECONDS + 10)); n=0; while [ $SECONDS -lt $end ]; do
      curl -s -o /dev/null -X POST -H "Authorization: Bearer $token" http://127.0.0.1:18090/api/v1/health/check-now; n=$((n+1)); done
    echo "$n" > "$work/checks.txt" ) &
  checker=$!
  wrk -t2 -c16 -d10s --latency -H "Authorization: Bearer $token" "http://127.0.0.1:18090/api/v1/health/$ep" 2>/dev/null \
    | awk -v ep="$ep" '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {printf "%s during checks: %s req/s, p50 %s, p99 %s\n", ep, rps, p50, p99}'
  wait $checker 2>/dev/null || true
  echo "checks completed meanwhile: $(cat "$work/checks.txt")"
done
wrk -t2 -c16 -d5s --latency -H "Authorization: Bearer $token" http://127.0.0.1:18090/api/v1/health/metrics 2>/dev/null \
  | awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} END {printf "metrics with no check running: %s req/s, p99 %s\n", rps, p99}'
kill $pid; wait $pid 2>/dev/null || true
