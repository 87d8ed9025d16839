#!/usr/bin/env bash
# The step pipeline against the build of the day issue #12 was filed (commit e1a7896), on the
# same candles, in one run: interleaved `gobot backtest` processes, the base build's (which ran
# the step pipeline) and this tree's `backtest --pipeline`, with wall and CPU seconds, medians,
# the ratio, and a check that both made the same trades. Speed claims are ratios measured in one
# run on the same input; the issue's "about 3,000 candles/s" was an estimate, not a measurement.
#
#   scripts/bench-pipeline-base.sh [DATA_DIR]     # default: the bundled sample-data (4 symbols, 7 days)
#   SYNTHETIC=1 scripts/bench-pipeline-base.sh    # the 30-day synthetic symbol of that day's `gobot bench`
#
# Environment: BASE (commit, default e1a7896), REPS (default 3), CACHE (where the base build is
# kept, default ~/.cache/gobot-bench). The first run builds the base in release (about 4 minutes
# on a quiet 2-core machine, longer under load); later runs reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BASE=${BASE:-e1a7896}
REPS=${REPS:-3}
CACHE=${CACHE:-$HOME/.cache/gobot-bench}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

base_dir="$CACHE/base-$BASE"
if [ ! -x "$base_dir/.build/release/gobot" ]; then
  echo "building the base $BASE in $base_dir (release) ..."
  rm -rf "$base_dir"; mkdir -p "$CACHE"
  git clone -q "$ROOT" "$base_dir"
  git -C "$base_dir" checkout -q "$BASE"
  (cd "$base_dir" && swift build -c release --product gobot >"$WORK/base-build.log" 2>&1) || { tail -n 20 "$WORK/base-build.log"; exit 1; }
fi
echo "building this tree (release) ..."
swift build -c release --product gobot >"$WORK/build.log" 2>&1 || { tail -n 20 "$WORK/build.log"; exit 1; }
old="$base_dir/.build/release/gobot"; new="$ROOT/.build/release/gobot"

if [ "${SYNTHETIC:-0}" = 1 ]; then
  DATA="$WORK/synthetic"; mkdir -p "$DATA/klines"
  # The generator of `gobot bench` at e1a7896 (Benchmarks.synthetic: a 64-bit LCG, seed 42), 30 days.
  python3 - "$DATA/klines/XRPUSDT-1m.csv" <<'EOF'
import sys
M = (1 << 64) - 1
state = 42
def nxt():
    global state
    state = (state * 6364136223846793005 + 1442695040888963407) & M
    return (state >> 11) / float(1 << 53)
price, start, out = 2.0, 1735689600000, ["open_time_ms,open,high,low,close,volume"]
for i in range(30 * 1440):
    o = price
    c = max(0.01, o * (1 + (nxt() - 0.5) * 0.003))
    h = max(o, c) * (1 + nxt() * 0.001); l = min(o, c) * (1 - nxt() * 0.001)
    v = 1000 + nxt() * 500
    out.append("%d,%r,%r,%r,%r,%r" % (start + i * 60000, o, h, l, c, v))
    price = c
open(sys.argv[1], "w").write("\n".join(out) + "\n")
EOF
  cat >"$DATA/exchangeInfo.json" <<'EOF'
{"rateLimits":[],"symbols":[{"symbol":"XRPUSDT","status":"TRADING","contractType":"PERPETUAL","quoteAsset":"USDT","filters":[{"filterType":"PRICE_FILTER","tickSize":"0.0001"},{"filterType":"LOT_SIZE","stepSize":"0.1","minQty":"0.1"},{"filterType":"MIN_NOTIONAL","notional":"5"}]}]}
EOF
else
  DATA=${1:-$ROOT/sample-data}
fi
candles=$(cat "$DATA"/klines/*-1m.csv | grep -c '^[0-9]')
days=$(( ($(grep -c '^[0-9]' "$(ls "$DATA"/klines/*-1m.csv | head -n 1)") + 1439) / 1440 ))
echo "data: $DATA ($candles 1m candles); base $BASE vs this tree ($(git rev-parse --short HEAD)); $REPS interleaved runs each; load $(cut -d' ' -f1-3 /proc/loadavg)"

run() {  # $1 = label, rest = command; prints "wall cpu" and keeps the trade lines
  local label=$1; shift
  local dir="$WORK/run-$label"; rm -rf "$dir"; mkdir -p "$dir"
  (cd "$dir" && /usr/bin/time -f "%e %U %S" "$@" --data "$DATA" --out "$dir/report" >"$dir/out.txt" 2>"$dir/time.txt")
  grep -E '→' "$dir/out.txt" | sed 's/ *$//' >"$WORK/trades-$label.txt" || true
  grep -m1 -oE '^trades: [0-9]+ closed, [0-9]+ won' "$dir/out.txt" >"$WORK/summary-$label.txt" || true
  tail -n 1 "$dir/time.txt" | awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }'
}
olds=(); news=(); pipes=()
for i in $(seq "$REPS"); do
  o=$(run old "$old" backtest); n=$(run new "$new" backtest --pipeline)
  # The step pipeline alone, as `gobot bench --pipeline-only` times it in a process of its own
  # (Backtest.run: loading the candles, the cycles and the evaluation lines; no report).
  p=$("$new" bench --data "$DATA" --pipeline-only --days "$days" 2>&1 | grep '^pipeline:' | sed -n 's/.* in \([0-9.]*\) s = .*/\1/p')
  olds+=("$o"); news+=("$n"); pipes+=("$p")
  echo "run $i (load $(cut -d' ' -f1 /proc/loadavg)): base ${o% *} s wall ${o#* } s CPU | this tree ${n% *} s wall ${n#* } s CPU, its step pipeline alone $p s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ow=$(median $(printf '%s\n' "${olds[@]}" | cut -d' ' -f1)); oc=$(median $(printf '%s\n' "${olds[@]}" | cut -d' ' -f2))
nw=$(median $(printf '%s\n' "${news[@]}" | cut -d' ' -f1)); nc=$(median $(printf '%s\n' "${news[@]}" | cut -d' ' -f2))
echo "medians: base $ow s wall / $oc s CPU ($(awk -v c="$candles" -v s="$ow" 'BEGIN { printf "%.0f", c / s }') candles/s); this tree $nw s wall / $nc s CPU ($(awk -v c="$candles" -v s="$nw" 'BEGIN { printf "%.0f", c / s }') candles/s)"
pw=$(median "${pipes[@]}")
echo "this tree's whole process is $(awk -v a="$ow" -v b="$nw" 'BEGIN { printf "%.1f", a / b }')x the base in wall time, $(awk -v a="$oc" -v b="$nc" 'BEGIN { printf "%.1f", a / b }')x in CPU time"
echo "this tree's step pipeline alone ($pw s median) is $(awk -v a="$ow" -v b="$pw" 'BEGIN { printf "%.1f", a / b }')x the base's whole process (which also parses the CSV and writes its report; issue #12 item 5 asks for 10x)"
# Both list every closed trade; the formats differ (this tree prints times to the minute) and so
# do the prices (the base filled at the unrounded candle price; fills are now rounded to the tick
# and slipped), so the trades are compared by entry day, side, symbol, quantity and exit reason.
echo "base: $(cat "$WORK/summary-old.txt"); this tree: $(cat "$WORK/summary-new.txt")"
python3 - "$WORK/trades-old.txt" "$WORK/trades-new.txt" <<'EOF'
import re, sys
pat = re.compile(r"^\s*(\d{4}-\d\d-\d\d)\b.*?\b(long|short) (\S+) qty (\S+) @ \S+ → \S+ (\S+) net")
def trades(path):
    return [m.groups() for m in (pat.match(l) for l in open(path)) if m]
old, new = trades(sys.argv[1]), trades(sys.argv[2])
# This tree's summary lists the last 20 trades; the base's lists them all.
if len(new) < len(old) and old[-len(new):] == new:
    print(f"trades: the last {len(new)} closed trades this tree lists are the base's last {len(new)} of {len(old)}")
elif old == new:
    print(f"trades: the same {len(old)} closed trades in both (entry day, side, symbol, quantity, exit reason)")
else:
    print(f"trades: DIFFERENT: base {len(old)}, this tree {len(new)}; first difference:",
          next(((a, b) for a, b in zip(old, new) if a != b), "one list is longer"))
EOF
