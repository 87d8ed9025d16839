import GRDB

extension GobotDatabase {
    /// Named, append-only migrations. Never edit a shipped one: add the next.
    public static let migrationNames = ["v1-foundation", "v2-market", "v3-trading", "v4-exchange", "v5-paper", "v6-money", "v7-edge", "v8-agreement", "v9-speed", "v10-unavailable-label", "v11-paper-income-trade-id",
                                             "v12-checks-without-in", "v13-position-indexes"]

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-foundation") { db in
            try db.execute(sql: """
                CREATE TABLE runs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    step TEXT NOT NULL,
                    started_at_ms INTEGER NOT NULL,
                    finished_at_ms INTEGER,
                    outcome TEXT NOT NULL DEFAULT 'running',
                    exit_code INTEGER,
                    message TEXT NOT NULL DEFAULT ''
                );
                CREATE INDEX runs_step ON runs(step, id);
                CREATE TABLE audit (
                    id INTEGER PRIMARY KEY,
                    at_ms INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    prev_hash TEXT NOT NULL,
                    hash TEXT NOT NULL UNIQUE
                );
                CREATE TABLE outbox (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    created_at_ms INTEGER NOT NULL,
                    channel TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    dedupe_key TEXT NOT NULL UNIQUE,
                    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','sent','dead')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at_ms INTEGER NOT NULL,
                    last_error TEXT,
                    sent_at_ms INTEGER
                );
                CREATE INDEX outbox_due ON outbox(status, next_attempt_at_ms);
                CREATE TABLE breakers (
                    name TEXT PRIMARY KEY,
                    failures INTEGER NOT NULL DEFAULT 0,
                    open_until_ms INTEGER NOT NULL DEFAULT 0,
                    reason TEXT NOT NULL DEFAULT '',
                    updated_at_ms INTEGER NOT NULL
                );
                CREATE TABLE halt_state (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    halted INTEGER NOT NULL,
                    reason TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    since_ms INTEGER NOT NULL
                );
                CREATE TABLE kv (
                    key TEXT PRIMARY KEY,
                    value TEXT NOT NULL,
                    updated_at_ms INTEGER NOT NULL
                );
                """)
        }
        m.registerMigration("v2-market") { db in
            try db.execute(sql: """
                CREATE TABLE candles (
                    symbol TEXT NOT NULL,
                    interval TEXT NOT NULL,
                    open_time_ms INTEGER NOT NULL,
                    open REAL NOT NULL, high REAL NOT NULL, low REAL NOT NULL, close REAL NOT NULL,
                    volume REAL NOT NULL,
                    close_time_ms INTEGER NOT NULL,
                    PRIMARY KEY (symbol, interval, open_time_ms)
                ) WITHOUT ROWID;
                CREATE TABLE candidates (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    symbol TEXT NOT NULL,
                    created_at_ms INTEGER NOT NULL,
                    last_close REAL NOT NULL,
                    score REAL NOT NULL,
                    status TEXT NOT NULL DEFAULT 'fresh' CHECK (status IN ('fresh','analyzed','expired'))
                );
                CREATE INDEX candidates_status ON candidates(status, created_at_ms);
                CREATE TABLE signals (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    candidate_id INTEGER REFERENCES candidates(id),
                    symbol TEXT NOT NULL,
                    created_at_ms INTEGER NOT NULL,
                    direction TEXT NOT NULL CHECK (direction IN ('long','short','none')),
                    confidence REAL NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
                    rationale TEXT NOT NULL,
                    model TEXT NOT NULL,
                    prompt_tokens INTEGER NOT NULL DEFAULT 0,
                    completion_tokens INTEGER NOT NULL DEFAULT 0,
                    cost_usd TEXT NOT NULL DEFAULT '0',
                    chart_hashes TEXT NOT NULL DEFAULT '',
                    reference_price REAL NOT NULL,
                    status TEXT NOT NULL DEFAULT 'fresh' CHECK (status IN ('fresh','traded','rejected','recorded','expired')),
                    decision TEXT
                );
                CREATE INDEX signals_status ON signals(status, created_at_ms);
                CREATE TABLE analyst_cache (
                    key TEXT PRIMARY KEY,
                    response TEXT NOT NULL,
                    created_at_ms INTEGER NOT NULL
                );
                CREATE TABLE analyst_spend (
                    day TEXT PRIMARY KEY,
                    cost_usd TEXT NOT NULL,
                    calls INTEGER NOT NULL
                );
                """)
        }
        m.registerMigration("v3-trading") { db in
            try db.execute(sql: """
                CREATE TABLE orders (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    client_order_id TEXT NOT NULL UNIQUE,
                    position_id INTEGER,
                    symbol TEXT NOT NULL,
                    side TEXT NOT NULL CHECK (side IN ('BUY','SELL')),
                    purpose TEXT NOT NULL CHECK (purpose IN ('entry','stop','take_profit','close')),
                    type TEXT NOT NULL,
                    quantity TEXT NOT NULL,
                    trigger_price TEXT,
                    status TEXT NOT NULL CHECK (status IN ('intent','unknown','open','filled','canceled','rejected','expired')),
                    exchange_order_id TEXT,
                    avg_price TEXT,
                    executed_qty TEXT,
                    created_at_ms INTEGER NOT NULL,
                    updated_at_ms INTEGER NOT NULL,
                    error TEXT
                );
                CREATE INDEX orders_status ON orders(status);
                CREATE TABLE positions (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    symbol TEXT NOT NULL,
                    side TEXT NOT NULL CHECK (side IN ('long','short')),
                    signal_id INTEGER REFERENCES signals(id),
                    quantity TEXT NOT NULL,
                    entry_price TEXT NOT NULL,
                    stop_price TEXT NOT NULL,
                    target_price TEXT NOT NULL,
                    notional_usd TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('opening','open','closed','failed')),
                    opened_at_ms INTEGER NOT NULL,
                    closed_at_ms INTEGER,
                    exit_price TEXT,
                    exit_reason TEXT,
                    realized_pnl TEXT,
                    fees TEXT NOT NULL DEFAULT '0',
                    funding TEXT NOT NULL DEFAULT '0'
                );
                CREATE UNIQUE INDEX one_live_position_per_symbol ON positions(symbol) WHERE status IN ('opening','open');
                CREATE TABLE fills (
                    trade_id TEXT NOT NULL,
                    symbol TEXT NOT NULL,
                    order_id TEXT NOT NULL,
                    side TEXT NOT NULL,
                    price TEXT NOT NULL,
                    quantity TEXT NOT NULL,
                    commission TEXT NOT NULL,
                    realized_pnl TEXT NOT NULL,
                    time_ms INTEGER NOT NULL,
                    PRIMARY KEY (symbol, trade_id)
                );
                CREATE TABLE ledger (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at_ms INTEGER NOT NULL,
                    symbol TEXT NOT NULL,
                    kind TEXT NOT NULL CHECK (kind IN ('realized_pnl','commission','funding','transfer')),
                    amount_usd TEXT NOT NULL,
                    position_id INTEGER,
                    ref TEXT NOT NULL UNIQUE
                );
                CREATE INDEX ledger_time ON ledger(at_ms);
                """)
        }
        m.registerMigration("v4-exchange") { db in
            try db.execute(sql: """
                CREATE TABLE rate_budget (
                    scope TEXT PRIMARY KEY,
                    window_start_ms INTEGER NOT NULL,
                    used INTEGER NOT NULL,
                    banned_until_ms INTEGER NOT NULL DEFAULT 0,
                    backoff_until_ms INTEGER NOT NULL DEFAULT 0
                );
                CREATE TABLE cache (
                    key TEXT PRIMARY KEY,
                    value TEXT NOT NULL,
                    expires_at_ms INTEGER NOT NULL
                );
                """)
        }
        m.registerMigration("v5-paper") { db in
            // The paper exchange keeps its own books here, apart from gobot's, exactly as a real
            // exchange would: reconcile must discover fills, it is not told about them.
            try db.execute(sql: """
                CREATE TABLE paper_account (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    balance TEXT NOT NULL,
                    processed_until_ms INTEGER NOT NULL,
                    next_id INTEGER NOT NULL
                );
                CREATE TABLE paper_orders (
                    order_id INTEGER PRIMARY KEY,
                    client_order_id TEXT NOT NULL UNIQUE,
                    symbol TEXT NOT NULL, side TEXT NOT NULL, type TEXT NOT NULL, status TEXT NOT NULL,
                    qty TEXT NOT NULL, executed_qty TEXT NOT NULL, avg_price TEXT NOT NULL,
                    reduce_only INTEGER NOT NULL, time_ms INTEGER NOT NULL
                );
                CREATE TABLE paper_algo (
                    algo_id INTEGER PRIMARY KEY,
                    client_algo_id TEXT NOT NULL UNIQUE,
                    symbol TEXT NOT NULL, side TEXT NOT NULL, order_type TEXT NOT NULL, status TEXT NOT NULL,
                    trigger_price TEXT NOT NULL, actual_order_id TEXT NOT NULL DEFAULT '', time_ms INTEGER NOT NULL
                );
                CREATE TABLE paper_positions (
                    symbol TEXT PRIMARY KEY,
                    amt TEXT NOT NULL,
                    entry_price TEXT NOT NULL
                );
                CREATE TABLE paper_trades (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    symbol TEXT NOT NULL, order_id TEXT NOT NULL, side TEXT NOT NULL,
                    price TEXT NOT NULL, qty TEXT NOT NULL, realized_pnl TEXT NOT NULL, commission TEXT NOT NULL,
                    time_ms INTEGER NOT NULL
                );
                CREATE TABLE paper_income (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    symbol TEXT NOT NULL, type TEXT NOT NULL, income TEXT NOT NULL, time_ms INTEGER NOT NULL
                );
                """)
        }
        m.registerMigration("v6-money") { db in
            // A commission paid in BNB (or any asset but USDT) keeps its asset and amount; amount_usd
            // is its USDT value at the time it was charged.
            try db.execute(sql: """
                ALTER TABLE ledger ADD COLUMN asset TEXT NOT NULL DEFAULT 'USDT';
                ALTER TABLE ledger ADD COLUMN asset_amount TEXT;
                """)
        }
        m.registerMigration("v7-edge") { db in
            // The analyst scorecard: one label per directional signal, judged after its horizon
            // from candles that opened after it (docs/EVALUATION.md).
            try db.execute(sql: """
                CREATE TABLE signal_labels (
                    signal_id INTEGER PRIMARY KEY REFERENCES signals(id),
                    symbol TEXT NOT NULL,
                    model TEXT NOT NULL,
                    direction TEXT NOT NULL CHECK (direction IN ('long','short')),
                    confidence REAL NOT NULL,
                    signal_at_ms INTEGER NOT NULL,
                    outcome TEXT NOT NULL CHECK (outcome IN ('hit','miss','expired')),
                    r REAL NOT NULL,
                    cost_usd TEXT NOT NULL,
                    labelled_at_ms INTEGER NOT NULL
                );
                CREATE INDEX signal_labels_model ON signal_labels(model, signal_at_ms);
                CREATE TABLE analyst_skips (
                    day TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    count INTEGER NOT NULL,
                    PRIMARY KEY (day, reason)
                );
                """)
        }
        m.registerMigration("v8-agreement") { db in
            // The vision analyst's own word on whether its timeframes agree, kept with the signal
            // and its label so the scorecard can report hit rates by it (NULL: not stated).
            try db.execute(sql: """
                ALTER TABLE signals ADD COLUMN timeframe_agreement TEXT CHECK (timeframe_agreement IN ('aligned','mixed','conflicting'));
                ALTER TABLE signal_labels ADD COLUMN timeframe_agreement TEXT CHECK (timeframe_agreement IN ('aligned','mixed','conflicting'));
                """)
        }
        m.registerMigration("v9-speed") { db in
            // Scan prunes candles by age every run: without this index the DELETE read the whole
            // table (the primary key starts with symbol and interval).
            try db.execute(sql: "CREATE INDEX candles_open_time ON candles(open_time_ms)")
        }
        m.registerMigration("v10-unavailable-label") { db in
            // A signal the exchange never returns candles for (a delisted symbol) gets the terminal
            // outcome 'unavailable' instead of a klines request on every reconcile, for good.
            // SQLite cannot change a CHECK: the table is rebuilt with the same rows.
            try db.execute(sql: """
                CREATE TABLE signal_labels_new (
                    signal_id INTEGER PRIMARY KEY REFERENCES signals(id),
                    symbol TEXT NOT NULL,
                    model TEXT NOT NULL,
                    direction TEXT NOT NULL CHECK (direction IN ('long','short')),
                    confidence REAL NOT NULL,
                    signal_at_ms INTEGER NOT NULL,
                    outcome TEXT NOT NULL CHECK (outcome IN ('hit','miss','expired','unavailable')),
                    r REAL NOT NULL,
                    cost_usd TEXT NOT NULL,
                    labelled_at_ms INTEGER NOT NULL,
                    timeframe_agreement TEXT CHECK (timeframe_agreement IN ('aligned','mixed','conflicting'))
                );
                INSERT INTO signal_labels_new (signal_id, symbol, model, direction, confidence, signal_at_ms, outcome, r, cost_usd, labelled_at_ms,
                    timeframe_agreement)
                SELECT signal_id, symbol, model, direction, confidence, signal_at_ms, outcome, r, cost_usd, labelled_at_ms, timeframe_agreement
                FROM signal_labels;
                DROP TABLE signal_labels;
                ALTER TABLE signal_labels_new RENAME TO signal_labels;
                CREATE INDEX signal_labels_model ON signal_labels(model, signal_at_ms);
                """)
        }
        m.registerMigration("v11-paper-income-trade-id") { db in
            // The paper exchange's COMMISSION and REALIZED_PNL records name their fill, as Binance's
            // `tradeId` does: reconcile matches a fee to its fill by it. Older rows have none (NULL).
            try db.execute(sql: "ALTER TABLE paper_income ADD COLUMN trade_id INTEGER REFERENCES paper_trades(id)")
        }
        m.registerMigration("v12-checks-without-in") { db in
            // Speed (issue #12): SQLite evaluates `x IN ('a','b','c')` with three or more constants by
            // building a temporary b-tree every time the statement runs, and a CHECK runs on every
            // insert and on every update of its column. Every cron cycle writes candidates and
            // signals seven times so (about 4 µs each). The same checks as `=` comparisons, the
            // form SQLite itself uses for two constants, admit exactly the same values (NULL
            // included). SQLite cannot change a CHECK in place: both tables are rebuilt with the
            // same rows, ids, indexes and AUTOINCREMENT sequence.
            let sequences = try Row.fetchAll(db, sql: "SELECT name, seq FROM sqlite_sequence WHERE name IN ('candidates', 'signals')")
            try db.execute(sql: """
                CREATE TABLE candidates_new (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    symbol TEXT NOT NULL,
                    created_at_ms INTEGER NOT NULL,
                    last_close REAL NOT NULL,
                    score REAL NOT NULL,
                    status TEXT NOT NULL DEFAULT 'fresh' CHECK (status = 'fresh' OR status = 'analyzed' OR status = 'expired')
                );
                INSERT INTO candidates_new (id, symbol, created_at_ms, last_close, score, status)
                SELECT id, symbol, created_at_ms, last_close, score, status FROM candidates;
                DROP TABLE candidates;
                ALTER TABLE candidates_new RENAME TO candidates;
                CREATE INDEX candidates_status ON candidates(status, created_at_ms);
                CREATE TABLE signals_new (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    candidate_id INTEGER REFERENCES candidates(id),
                    symbol TEXT NOT NULL,
                    created_at_ms INTEGER NOT NULL,
                    direction TEXT NOT NULL CHECK (direction = 'long' OR direction = 'short' OR direction = 'none'),
                    confidence REAL NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
                    rationale TEXT NOT NULL,
                    model TEXT NOT NULL,
                    prompt_tokens INTEGER NOT NULL DEFAULT 0,
                    completion_tokens INTEGER NOT NULL DEFAULT 0,
                    cost_usd TEXT NOT NULL DEFAULT '0',
                    chart_hashes TEXT NOT NULL DEFAULT '',
                    reference_price REAL NOT NULL,
                    status TEXT NOT NULL DEFAULT 'fresh'
                        CHECK (status = 'fresh' OR status = 'traded' OR status = 'rejected' OR status = 'recorded' OR status = 'expired'),
                    decision TEXT,
                    timeframe_agreement TEXT
                        CHECK (timeframe_agreement = 'aligned' OR timeframe_agreement = 'mixed' OR timeframe_agreement = 'conflicting')
                );
                INSERT INTO signals_new (id, candidate_id, symbol, created_at_ms, direction, confidence, rationale, model, prompt_tokens,
                    completion_tokens, cost_usd, chart_hashes, reference_price, status, decision, timeframe_agreement)
                SELECT id, candidate_id, symbol, created_at_ms, direction, confidence, rationale, model, prompt_tokens,
                    completion_tokens, cost_usd, chart_hashes, reference_price, status, decision, timeframe_agreement FROM signals;
                DROP TABLE signals;
                ALTER TABLE signals_new RENAME TO signals;
                CREATE INDEX signals_status ON signals(status, created_at_ms);
                """)
            // The copy set each sequence to the largest id kept; a larger one (rows deleted by hand)
            // is kept, so no id is ever handed out twice.
            for row in sequences {
                let name: String = row["name"], seq: Int64 = row["seq"]
                try db.execute(sql: "INSERT INTO sqlite_sequence (name, seq) SELECT ?1, 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?1)",
                               arguments: [name])
                try db.execute(sql: "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?", arguments: [seq, name])
            }
        }
        m.registerMigration("v13-position-indexes") { db in
            // Every cron step reads positions by status, by symbol and by entry time (the gate's
            // inputs, scan's blocks, the loss streak); without an index each read scanned and
            // sorted the whole history, about 0.3 ms a read after a thousand trades and growing.
            try db.execute(sql: """
                CREATE INDEX positions_status_closed ON positions(status, closed_at_ms);
                CREATE INDEX positions_symbol_opened ON positions(symbol, opened_at_ms);
                CREATE INDEX positions_opened ON positions(opened_at_ms);
                """)
        }
        return m
    }
}
