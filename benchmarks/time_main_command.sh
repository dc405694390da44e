#!/usr/bin/env bash
# Times the README's first command as a fresh machine runs it: a clean clone of HEAD, a new
# virtual environment, an empty clirbench cache, then install / run / report, each timed.
# Target (issue 6): run + report within 10 minutes on 2 CPU cores.
# Usage: bash benchmarks/time_main_command.sh [WORKDIR]   (default: a new temporary folder)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
git clone -q "$repo" "$work/clirbench"
cd "$work/clirbench"
python3 -m venv "$work/venv"
source "$work/venv/bin/activate"
export CLIRBENCH_CACHE="$work/cache"
echo "clone $(git rev-parse --short HEAD) in $work; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"

now() { date +%s%N; }
seconds() { printf '%d.%d' $(( $1 / 1000000000 )) $(( $1 / 100000000 % 10 )); }  # ns -> s.d

phase() {  # phase NAME COMMAND...: run it, print its wall-clock seconds
  local name="$1" start
  shift
  start=$(now)
  "$@" > "$work/$name.log" 2>&1 || { echo "$name failed; see $work/$name.log"; tail -20 "$work/$name.log"; exit 1; }
  printf '%-8s %8s s\n' "$name" "$(seconds $(( $(now) - start )))"
}

total_start=$(now)
phase install pip install -q .
run_start=$(now)
phase run clirbench run --methods bm25,optical,nmt
phase report clirbench report --out leaderboard
end=$(now)
echo "run + report $(seconds $(( end - run_start ))) s (target <= 600 s);" \
  "with install $(seconds $(( end - total_start ))) s; load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
grep -A8 -m1 '^| ' leaderboard/leaderboard.md || true
