# common.sh — helpers for the benchmark scripts (sourced).
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# A demo store of N students (one pair each) with 1 % drift, built once.
demo_store() {
  local n=$1 dir=$DATA/demo-$1
  if [ ! -e "$dir/lockstep.db" ]; then
    rm -rf "$dir"
    local t0=$(date +%s.%N)
    "$BIN" --data-dir "$dir" demo --users "$n" --drift 1 --seed 42 > "$dir.demo.txt"
    echo "  (built $dir in $(echo "$(date +%s.%N) - $t0" | bc) s)" >&2
  fi
  echo "$dir"
}
