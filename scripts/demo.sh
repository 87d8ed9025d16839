#!/usr/bin/env bash
# Sets up gobot and runs its main job offline: a backtest of the full scan → analyze → trade →
# reconcile chain on the real Binance candles bundled in sample-data/, on the paper exchange.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! pkg-config --exists cairo 2>/dev/null || ! dpkg -s libsqlite3-dev libssl-dev >/dev/null 2>&1; then
    echo "installing system packages (libcairo2-dev libsqlite3-dev libssl-dev libcurl4-openssl-dev fonts-dejavu-core)..."
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq libcairo2-dev libsqlite3-dev libssl-dev libcurl4-openssl-dev fonts-dejavu-core ca-certificates
fi
swift build -c release --product gobot
bin=.build/release/gobot
[ -f config/config.yaml ] || $bin init
$bin config check
if $bin help backtest >/dev/null 2>&1; then
    $bin backtest "$@"
else
    echo "this build has no backtest command" >&2; exit 1
fi
