#!/usr/bin/env bash
# gobot's engine beside backtesting.py, nautilus_trader, freqtrade and plain loops on the same
# 1m candles, in one run (so the ratios are fair on a shared machine).
#   scripts/bench-peers.sh PEERS_DIR [ENGINES]
# PEERS_DIR is the peers harness (../shared/bench/peers in the developers' workspace); it is
# copied to a scratch folder, never written. ENGINES (comma-separated) defaults to the ones in
# README's table. REPS (default 3) sets the runs per engine; PEERS_VENVS where the venvs live.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src=${1:?usage: scripts/bench-peers.sh PEERS_DIR [ENGINES]}
engines=${2:-naive-python,numpy-vectorized,backtesting.py,nautilus_trader,freqtrade,gobot}
work=${PEERS_WORK:-/tmp/gobot-peers}
export PEERS_VENVS=${PEERS_VENVS:-/tmp/peers}
[ -x "$root/.build/release/gobot" ] || (cd "$root" && swift build -c release --product gobot)
export GOBOT_BIN="$root/.build/release/gobot"
mkdir -p "$work"
cp -r "$src"/. "$work"/
cp "$root/scripts/peers/bt_gobot.py" "$work/engines/"
cp "$root/scripts/peers/run_with_gobot.py" "$work/"
cd "$work"
[ -x "$PEERS_VENVS/venv-base/bin/python" ] || ./setup.sh
[ -f data/SYN-1m.csv ] || "$PEERS_VENVS/venv-base/bin/python" gen_data.py
uptime
python3 run_with_gobot.py data/SYN-1m.csv --tag SYN-1m --only "$engines" --reps "${REPS:-3}"
