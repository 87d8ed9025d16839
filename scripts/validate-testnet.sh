#!/usr/bin/env bash
# Runs the cron chain against Binance demo trading (demo-fapi.binance.com) for a given time,
# then prints the acceptance checklist (`gobot validate`).
#
#   BINANCE_API_KEY=... BINANCE_API_SECRET=... TELEGRAM_TOKEN=... TELEGRAM_CHAT_ID=... \
#     scripts/validate-testnet.sh 7d [config/demo.yaml]
#
# The config must say `exchange.environment: demo`. The script exercises the kill switch once
# (touch, one trade run, remove) so the checklist can see it. Recovery is exercised whenever a
# run is interrupted; it can be forced with `kill -9` of a trade step while it runs.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:?usage: $0 DURATION (e.g. 7d, 12h, 90m) [CONFIG]}"
config="${2:-config/config.yaml}"
case "$duration" in
    *d) seconds=$(( ${duration%d} * 86400 ));;
    *h) seconds=$(( ${duration%h} * 3600 ));;
    *m) seconds=$(( ${duration%m} * 60 ));;
    *) seconds="$duration";;
esac
grep -Eq '^\s*environment:\s*demo' "$config" || { echo "error: $config must set exchange.environment: demo" >&2; exit 78; }
swift build -c release --product gobot
bin=.build/release/gobot
"$bin" config check --config "$config"
kill_file=$(awk '/kill_switch_file:/ {print $2}' "$config"); kill_file=${kill_file:-/tmp/gobot_kill_switch}
end=$(( $(date +%s) + seconds ))
cycle=0
while [ "$(date +%s)" -lt "$end" ]; do
    for step in scan analyze trade reconcile telegram; do
        "$bin" "$step" --config "$config" || echo "$(date -u +%FT%TZ) $step exited $?" >&2
    done
    cycle=$((cycle + 1))
    if [ "$cycle" -eq 3 ]; then   # exercise the kill switch once
        touch "$kill_file"; "$bin" trade --config "$config" || true; rm -f "$kill_file"
    fi
    if [ $((cycle % 288)) -eq 0 ]; then "$bin" report --config "$config" || true; fi
    sleep 300
done
"$bin" report --config "$config" || true
"$bin" validate --config "$config"
