#!/usr/bin/env bash
# enforcer.sh — coupled level updates per second, each its own transaction.
set -euo pipefail
source "$(dirname "$0")/common.sh"
dir=$(demo_store 10000)
echo "## Coupled level updates, SQLite (target >= 10,000/s on one connection)"
"$BUILD/bench_enforcer" "sqlite:$dir/lockstep.db" 5 1
"$BUILD/bench_enforcer" "sqlite:$dir/lockstep.db" 5 8
