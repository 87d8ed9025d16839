# /etc/cron.d/gobot, written by scripts/install.sh --cron. Secrets live in /etc/gobot/env (mode 0600).
# Each step takes its own lock and exits 75 when the previous run still holds it.
# `gobot status` marks a step STALE when it has not succeeded for 3 intervals (health.* in the config).
SHELL=/bin/bash
GOBOT="cd /opt/gobot && set -a && . /etc/gobot/env && set +a && exec bin/gobot"
*/5 * * * *    @USER@  eval "$GOBOT scan --config config/config.yaml"      >> /var/log/gobot/scan.log 2>&1
1-59/5 * * * * @USER@  eval "$GOBOT analyze --config config/config.yaml"   >> /var/log/gobot/analyze.log 2>&1
2-59/5 * * * * @USER@  eval "$GOBOT trade --config config/config.yaml"     >> /var/log/gobot/trade.log 2>&1
*/2 * * * *    @USER@  eval "$GOBOT reconcile --config config/config.yaml" >> /var/log/gobot/reconcile.log 2>&1
55 23 * * *    @USER@  eval "$GOBOT report --config config/config.yaml"    >> /var/log/gobot/report.log 2>&1
* * * * *      @USER@  eval "$GOBOT telegram --config config/config.yaml"  >> /var/log/gobot/telegram.log 2>&1
