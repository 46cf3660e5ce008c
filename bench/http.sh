#!/usr/bin/env bash
# http.sh — authenticated GET /api/v1/health/status under wrk -t2 -c64 against
# nginx serving the same JSON as a static file (same run), the same while 4
# clients log in continuously, and the idle memory of `lockstep serve`.
set -euo pipefail
source "$(dirname "$0")/common.sh"
work=$(mktemp -d)
trap 'set +e; kill $(jobs -p) 2>/dev/null; nginx -c "$work/nginx.conf" -p "$work" -s stop 2>/dev/null; sleep 0.2; rm -rf "$work"' EXIT
"$BIN" --data-dir "$work/d" demo > "$work/demo.txt"
pw=$(awk '/password:/ {print $2}' "$work/demo.txt")
"$BIN" --data-dir "$work/d" check > /dev/null || true
"$BIN" --data-dir "$work/d" serve --listen 127.0.0.1:18080 > "$work/serve.out" 2> /dev/null &
pid=$!
for _ in $(seq 50); do grep -q serving "$work/serve.out" && break; sleep 0.1; done
sleep 1
idle_kb=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
token=$(curl -s -X POST -d "{\"email\":\"admin@lockstep.local\",\"password\":\"$pw\"}" \
  http://127.0.0.1:18080/api/v1/auth/login | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
mkdir -p "$work/html"
curl -s -H "Authorization: Bearer $token" http://127.0.0.1:18080/api/v1/health/status > "$work/html/status.json"
cat > "$work/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:18081; root $work/html; location / { default_type application/json; } } }
CONF
nginx -c "$work/nginx.conf" -p "$work"
sleep 0.5
ngx_pid=$(cat "$work/nginx.pid")
# wrkstat WRK-ARGS...: "req/s p99 max" of one wrk run.
wrkstat() { wrk --latency "$@" 2>/dev/null |
  awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} /^ +Latency +[0-9]/ {max=$4} END {print rps, p99, max}'; }
wrkrun() { wrkstat -t2 -c64 -d10s "$@"; }
echo "## GET /api/v1/health/status, wrk -t2 -c64 -d10s (target >= 0.5 x nginx, p99 < 10 ms)"
echo "status JSON: $(wc -c < "$work/html/status.json") bytes"
for round in 1 2; do
  read -r n_rps n_p99 _ < <(wrkrun http://127.0.0.1:18081/status.json)
  read -r l_rps l_p99 _ < <(wrkrun -H "Authorization: Bearer $token" http://127.0.0.1:18080/api/v1/health/status)
  awk -v a="$l_rps" -v b="$n_rps" -v ap="$l_p99" -v bp="$n_p99" -v r="$round" \
    'BEGIN {printf "round %d: lockstep %.0f req/s (p99 %s), nginx %.0f req/s (p99 %s), ratio %.2f\n", r, a, ap, b, bp, a/b}'
done
cat > "$work/login.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"email":"admin@lockstep.local","password":"$pw"}'
wrk.headers["Content-Type"] = "application/json"
LUA
echo "## the same while 4 clients log in continuously (argon2id)"
wrk -t1 -c4 -d12s -s "$work/login.lua" http://127.0.0.1:18080/api/v1/auth/login > "$work/login.txt" 2>&1 &
sleep 1
read -r l_rps l_p99 l_max < <(wrkrun -H "Authorization: Bearer $token" \
  http://127.0.0.1:18080/api/v1/health/status)
wait %2 2>/dev/null || true
logins=$(awk '/Requests\/sec/ {print $2}' "$work/login.txt")
login_avg=$(awk '/^ +Latency +[0-9]/ {print $2}' "$work/login.txt")
echo "status: $l_rps req/s (p99 $l_p99, max $l_max) while logins ran at $logins/s (mean $login_avg each)"
echo "## a store read on a handler thread (GET /api/v1/specializations, wrk -t1 -c8 -d8s), alone and while 8 clients log in"
storerun() { wrkstat -t1 -c8 -d8s -H "Authorization: Bearer $token" http://127.0.0.1:18080/api/v1/specializations; }
read -r s_rps s_p99 s_max < <(storerun)
echo "alone: $s_rps req/s (p99 $s_p99, max $s_max)"
wrk -t1 -c8 -d10s -s "$work/login.lua" http://127.0.0.1:18080/api/v1/auth/login > "$work/login8.txt" 2>&1 &
sleep 1
read -r s_rps s_p99 s_max < <(storerun)
wait %2 2>/dev/null || true
echo "with 8 logging in: $s_rps req/s (p99 $s_p99, max $s_max); logins $(awk '/Requests\/sec/ {print $2}' "$work/login8.txt")/s"
sleep 2
echo "## memory of lockstep serve: idle after start $((idle_kb / 1024)) MB, after the load $(( $(awk '/VmRSS/ {print $2}' /proc/$pid/status) / 1024 )) MB (target idle < 20 MB)"
kill $pid
wait $pid 2>/dev/null || true
kill "$ngx_pid" 2>/dev/null || true
