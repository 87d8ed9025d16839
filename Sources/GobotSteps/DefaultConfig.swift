/// The config `gobot init` writes: the original spec's keys verbatim, then gobot's own settings
/// with their defaults. No secrets: those come from the environment.
public enum DefaultConfig {
    public static let yaml = """
        # gobot configuration. Secrets are NOT kept here: set BINANCE_API_KEY, BINANCE_API_SECRET,
        # OPENAI_API_KEY, TELEGRAM_TOKEN and TELEGRAM_CHAT_ID in the environment.
        # Check it with: gobot config check
        trading:
          initial_capital_usd: 100
          max_position_usd: 10
          daily_trade_limit: 30          # USD: the most gobot may lose in one UTC day
          stop_loss_percent: 2.0
          take_profit_percent: 4.0
          min_confidence_threshold: 0.75
          max_trades_per_day: 3
          symbol_cooldown_minutes: 180
        execution:
          auto_execute: true
          leverage: 1
          margin_type: ISOLATED
          signal_max_age_minutes: 10
          max_clock_skew_ms: 1000        # no entry while the host clock is further off the exchange's
        emergency:
          kill_switch_enabled: true
          kill_switch_file: /tmp/gobot_kill_switch
        risk:
          weekly_loss_limit_usd: 50
          daily_exposure_limit_usd: 30
          max_open_positions: 1
          min_reward_risk: 2
          kelly_fraction: 0.25
          kelly_prior_win_rate: 0.45
          kelly_prior_trades: 20
          max_consecutive_losses: 3
          breaker_cooldown_minutes: 240
          edge_breaker:                  # stop entries when the labelled hit rate cannot reach break-even
            # enabled: true              # default: on for live and demo, off for paper
            min_labelled_signals: 50
            horizon_hours: 24
        exchange:
          environment: paper             # paper | demo | live
          recv_window_ms: 5000
          weight_budget_per_minute: 1200
          taker_fee_rate: 0.0005
          slippage_bps: 2                 # paper/backtest fills: bps of price, at least one tick
        universe:
          symbols: [BTCUSDT, ETHUSDT, SOLUSDT, BNBUSDT, XRPUSDT]
          max_symbols: 5
          candidate_max_age_minutes: 10
        analyst:
          kind: rules                    # rules | vision
          base_url: https://api.openai.com/v1
          model: gpt-4o-mini
          detail: low
          timeout_seconds: 60
          daily_budget_usd: 1
          ask_when_blocked: false        # true: ask even when no answer could trade (labels only, costs money)
          require_timeframe_agreement: true
        telegram:
          enabled: false
          allowed_user_ids: []           # your Telegram user id(s); commands from anyone else are ignored
        state:
          dir: state
          min_free_mb: 50                # no entry with less free space on the state filesystem
          backup_keep: 7                 # daily backups in state/backups/ (0 = off)
        health:                          # a step is STALE after stale_after_intervals missed intervals
          scan_interval_minutes: 5
          analyze_interval_minutes: 5
          trade_interval_minutes: 5
          reconcile_interval_minutes: 2
          report_interval_minutes: 1440
          telegram_interval_minutes: 1
          stale_after_intervals: 3
          # ping_url: https://hc-ping.com/YOUR-PING-KEY/gobot-{step}   # dead-man's switch (healthchecks.io)

        """
}
