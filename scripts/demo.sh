#!/usr/bin/env bash
# Sets up gobot and runs its main job offline: a backtest of the rules on the real Binance
# candles bundled in sample-data/ (in-memory engine; `--pipeline` replays the cron steps through
# SQLite instead), and prints how long each phase took.
#
# A debug build is enough: the backtest of the bundled week takes about 0.3 s of CPU in a debug
# binary, while a release build costs minutes more of compiling (README, "First setup").
# GOBOT_DEMO_RELEASE=1 builds with -c release instead.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
if ! pkg-config --exists cairo libpng 2>/dev/null || ! dpkg -s libsqlite3-dev libssl-dev >/dev/null 2>&1; then
    echo "installing system packages (libcairo2-dev libpng-dev libsqlite3-dev libssl-dev libcurl4-openssl-dev fonts-dejavu-core)..."
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq libcairo2-dev libpng-dev libsqlite3-dev libssl-dev libcurl4-openssl-dev fonts-dejavu-core ca-certificates
fi
t1=$SECONDS
if [ "${GOBOT_DEMO_RELEASE:-0}" = 1 ]; then
    swift build -c release --product gobot
    bin=.build/release/gobot
else
    swift build --product gobot
    bin=.build/debug/gobot
fi
t2=$SECONDS
[ -f config/config.yaml ] || $bin init
$bin config check
if $bin help backtest >/dev/null 2>&1; then
    $bin backtest "$@"
else
    echo "this build has no backtest command" >&2; exit 1
fi
t3=$SECONDS
echo "demo: system packages $((t1 - t0)) s, build $((t2 - t1)) s, init + backtest $((t3 - t2)) s, total $((t3 - t0)) s" >&2
