#!/usr/bin/env bash
# cli.sh — `lockstep check` on the 150-pair demo store, start to exit.
set -euo pipefail
source "$(dirname "$0")/common.sh"
dir=$(demo_store 150)
"$BIN" --data-dir "$dir" check > /dev/null || true
echo "## lockstep check, 150-pair demo store (target < 20 ms wall, start to exit)"
hyperfine -N --warmup 5 --runs 50 --export-json /tmp/lockstep-cli.json \
  "$BIN --data-dir $dir check" > /dev/null 2>&1 || true
python3 - <<'PY'
import json
r = json.load(open('/tmp/lockstep-cli.json'))['results'][0]
print(f"check (recorded): mean {r['mean']*1000:.1f} ms, median {r['median']*1000:.1f} ms, "
      f"min {r['min']*1000:.1f} ms, max {r['max']*1000:.1f} ms over {len(r['times'])} runs")
PY
hyperfine -N --warmup 5 --runs 50 --export-json /tmp/lockstep-cli.json \
  "$BIN --data-dir $dir check --dry-run" > /dev/null 2>&1 || true
python3 - <<'PY'
import json
r = json.load(open('/tmp/lockstep-cli.json'))['results'][0]
print(f"check --dry-run:  mean {r['mean']*1000:.1f} ms, median {r['median']*1000:.1f} ms")
PY
