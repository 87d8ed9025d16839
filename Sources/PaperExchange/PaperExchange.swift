import Foundation
import GobotCore
import GobotStore
import GRDB

/// A simulated USDⓈ-M exchange behind the same protocol as the Binance client.
///
/// Market orders fill at the next price plus slippage; STOP_MARKET / TAKE_PROFIT_MARKET trigger on
/// 1m mark-price highs and lows when the market knows them, else last-price ones (the stop first
/// when both lie inside one candle, the pessimistic reading), and only on prices after they were
/// placed (``FillRules``); taker fees on every fill; funding at 00/08/16 UTC. Its books live in the same database, so
/// paper trading carries on across cron runs. Time passes only through the injected clock.
public final class PaperExchange: FuturesExchange, @unchecked Sendable {
    let db: GobotDatabase
    let market: any MarketData
    let rulesProvider: @Sendable ([String]) async throws -> [String: SymbolRules]
    let feeRate: Decimal
    let slippageBps: Decimal
    let nowMs: @Sendable () -> Int64
    let initialBalance: Decimal
    /// A lower bound of `paper_account.processed_until_ms`, which only grows: a step asks for
    /// positions, orders and income in turn, and all but the first find the minute settled.
    private var knownSettledMs: Int64 = .min
    private let lock = NSLock()

    func noteSettled(_ ms: Int64) { lock.withLock { knownSettledMs = max(knownSettledMs, ms) } }
    func isKnownSettled(_ ms: Int64) -> Bool { lock.withLock { ms <= knownSettledMs } }

    /// When this process last heard "not published" for a symbol's funding mark: while the books
    /// are held at it, every call (positions, orders, income pages, each market-order attempt)
    /// settles again, and `/fapi/v1/fundingRate` has its own request limit (rule 6). One process
    /// is one step; it asks again after ``fundingAskIntervalMs``.
    private var notPublishedAskedAt: [String: Int64] = [:]
    static let fundingAskIntervalMs: Int64 = 30_000

    func recentlyNotPublished(_ symbol: String, _ markMs: Int64, now: Int64) -> Bool {
        lock.withLock { notPublishedAskedAt["\(symbol)@\(markMs)"].map { now - $0 < Self.fundingAskIntervalMs } ?? false }
    }

    func noteNotPublished(_ symbol: String, _ markMs: Int64, now: Int64) { lock.withLock { notPublishedAskedAt["\(symbol)@\(markMs)"] = now } }

    public convenience init(db: GobotDatabase, market: any MarketData, rules: [String: SymbolRules], feeRate: Decimal,
                            slippageBps: Decimal = FillRules.defaultSlippageBps, initialBalance: Decimal, nowMs: @escaping @Sendable () -> Int64) {
        self.init(db: db, market: market, rulesProvider: { symbols in symbols.isEmpty ? rules : rules.filter { symbols.contains($0.key) } },
                  feeRate: feeRate, slippageBps: slippageBps, initialBalance: initialBalance, nowMs: nowMs)
    }

    /// - Parameter rulesProvider: exchange filters, e.g. from the live exchangeInfo for paper trading on live prices.
    public init(db: GobotDatabase, market: any MarketData, rulesProvider: @escaping @Sendable ([String]) async throws -> [String: SymbolRules],
                feeRate: Decimal, slippageBps: Decimal = FillRules.defaultSlippageBps, initialBalance: Decimal, nowMs: @escaping @Sendable () -> Int64) {
        self.db = db
        self.market = market
        self.rulesProvider = rulesProvider
        self.feeRate = feeRate
        self.slippageBps = slippageBps
        self.initialBalance = initialBalance
        self.nowMs = nowMs
    }

    // MARK: account state

    struct Account { var balance: Decimal; var processedUntilMs: Int64; var nextId: Int64 }

    func account(_ db: Database) throws -> Account {
        if let a = try GobotDatabase.rows(db, "SELECT balance, processed_until_ms, next_id FROM paper_account WHERE id = 1", table: "paper_account", {
            Account(balance: try $0.decimal(0, "balance"), processedUntilMs: try $0.int64(1, "processed_until_ms"), nextId: try $0.int64(2, "next_id"))
        }).first {
            return a
        }
        let a = Account(balance: initialBalance, processedUntilMs: nowMs() / 60_000 * 60_000, nextId: 1)
        try db.cachedStatement(sql: "INSERT INTO paper_account (id, balance, processed_until_ms, next_id) VALUES (1, ?, ?, ?)").execute(arguments: [a.balance.plainString, a.processedUntilMs, a.nextId])
        return a
    }

    func save(_ db: Database, _ a: Account) throws {
        try db.cachedStatement(sql: "UPDATE paper_account SET balance = ?, processed_until_ms = ?, next_id = ? WHERE id = 1").execute(arguments: [a.balance.plainString, a.processedUntilMs, a.nextId])
    }

    struct Pos { var amt: Decimal; var entry: Decimal }

    func position(_ db: Database, _ symbol: String) throws -> Pos {
        try GobotDatabase.rows(db, "SELECT amt, entry_price FROM paper_positions WHERE symbol = ?", [symbol], table: "paper_positions", {
            Pos(amt: try $0.decimal(0, "amt"), entry: try $0.decimal(1, "entry_price"))
        }).first ?? Pos(amt: 0, entry: 0)
    }

    /// Applies a fill to the position and the wallet; returns realized P&L and commission.
    func fill(_ db: Database, account: inout Account, symbol: String, side: OrderSide, qty: Decimal, price: Decimal,
              orderId: String, atMs: Int64) throws {
        var pos = try position(db, symbol)
        let signed = side == .buy ? qty : -qty
        var realized: Decimal = 0
        if pos.amt != 0 && (pos.amt > 0) != (signed > 0) {
            let closing = min(abs(pos.amt), qty)
            realized = (price - pos.entry) * closing * (pos.amt > 0 ? 1 : -1)
            pos.amt += signed
            if pos.amt == 0 { pos.entry = 0 }
            else if (pos.amt > 0) == (signed > 0) { pos.entry = price }  // flipped through zero
        } else {
            let newAmt = pos.amt + signed
            pos.entry = newAmt == 0 ? 0 : (pos.entry * abs(pos.amt) + price * qty) / abs(newAmt)
            pos.amt = newAmt
        }
        let commission = (price * qty * feeRate).rounded(scale: 8)
        account.balance += realized - commission
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO paper_positions (symbol, amt, entry_price) VALUES (?, ?, ?)").execute(arguments: [symbol, pos.amt.plainString, pos.entry.plainString])
        try db.cachedStatement(sql: """
            INSERT INTO paper_trades (symbol, order_id, side, price, qty, realized_pnl, commission, time_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [symbol, orderId, side.rawValue, price.plainString, qty.plainString, realized.plainString, commission.plainString, atMs])
        // Like Binance's, the fill's income records name it (its trade id), so a fee is matched to its fill.
        let tradeId = db.lastInsertedRowID
        if realized != 0 {
            try db.cachedStatement(sql: "INSERT INTO paper_income (symbol, type, income, time_ms, trade_id) VALUES (?, 'REALIZED_PNL', ?, ?, ?)").execute(arguments: [symbol, realized.plainString, atMs, tradeId])
        }
        try db.cachedStatement(sql: "INSERT INTO paper_income (symbol, type, income, time_ms, trade_id) VALUES (?, 'COMMISSION', ?, ?, ?)").execute(arguments: [symbol, (-commission).plainString, atMs, tradeId])
    }

    /// A market figure as an exact decimal; NaN or infinity (a broken recording) is an error,
    /// never a fill or a mark at 0.
    static func decimal(_ x: Double) throws -> Decimal {
        guard let d = Decimal(price: x) else { throw ExchangeError.badResponse(endpoint: "paper market data", reason: "\(x) is not a price") }
        return d
    }

    // MARK: the simulation

    /// Replays every closed minute since the last call: protective triggers and funding.
    ///
    /// Another process settling the same books at the same moment makes a replay stale (it would
    /// pay funding and fill orders twice); the replay then starts again from where the other
    /// stopped. So does another process that filled an order or placed a stop, at the books'
    /// settled minute, in a symbol the replay was not prepared for (``replayInputs(_:)``). Each
    /// attempt reads candles over the network, so the attempts are bounded: a settler overtaken
    /// three times in a row gives up with a temporary error (the step exits 75 and the next run
    /// settles), rather than chase the other process for as long as it runs.
    func settle() async throws {
        for _ in 0..<Self.settleAttempts {
            if try await settleOnce() { return }
        }
        throw ExchangeError.unavailable("paper books: another process settled them, or changed their positions or waiting orders, "
                                            + "\(Self.settleAttempts) times while this one replayed; try again")
    }

    public static let settleAttempts = 3

    /// One replay of the minutes since the books' settled time; false when another settler moved
    /// that time, or another process changed the symbols to replay, meanwhile and nothing was written.
    private func settleOnce() async throws -> Bool {
        let now = nowMs()
        let until = now / 60_000 * 60_000
        if isKnownSettled(until) { return true }
        // No open order to trigger and no position to pay funding (most minutes): only the time
        // moves on, in one statement.
        let moved = try db.writeOne { db in
            try db.cachedStatement(sql: """
                UPDATE paper_account SET processed_until_ms = ?1 WHERE id = 1 AND processed_until_ms < ?1
                    AND NOT EXISTS (SELECT 1 FROM paper_algo WHERE status = 'NEW') AND NOT EXISTS (SELECT 1 FROM paper_positions WHERE amt != '0')
                """).execute(arguments: [until])
            return db.changesCount > 0
        }
        if moved { noteSettled(until); return true }
        // Most calls come within the same minute as the last one (a step asks for positions,
        // orders and income in turn): nothing to replay, no write transaction.
        let settled = try db.read { db in try Int64.fetchOne(db.cachedStatement(sql: "SELECT processed_until_ms FROM paper_account WHERE id = 1")) }
        if let settled, until <= settled { noteSettled(settled); return true }
        let state = try db.write { db -> (from: Int64, inputs: ReplayInputs)? in
            var account = try self.account(db)
            guard until > account.processedUntilMs else { return nil }
            let inputs = try self.replayInputs(db)
            guard inputs.symbols.isEmpty else { return (account.processedUntilMs, inputs) }
            // No open order to trigger and no position to pay funding: only the time moves on,
            // in this same transaction.
            account.processedUntilMs = until
            try self.save(db, account)
            return nil
        }
        guard let (from, inputs) = state else { noteSettled(until); return true }
        let symbols = inputs.symbols, held = inputs.held
        // The funding marks first: a held symbol's rate the live exchange has not published yet
        // holds the replay at its mark (the minutes before it are replayed, the mark and what
        // follows wait for the next call), for at most `fundingPublicationWaitMs`; past that
        // the books settle past it and say so. Every 8h mark in [from, until): a candle opening
        // exactly at `from` is settled now too.
        var replayUntil = until
        var rates: [Int64: [String: Double]] = [:], unpublished: [(symbol: String, timeMs: Int64)] = []
        var t = FundingSchedule.firstMark(atOrAfter: from)
        scan: while t < until {
            // Only a symbol held at `from` can pay: nothing opens inside a replayed window (a
            // market order waits for books settled to its own minute; triggers only reduce).
            for s in symbols where held.contains(s) {
                // Within the wait, an answer heard moments ago stands; past it, always ask.
                let remembered = now - t < Self.fundingPublicationWaitMs && recentlyNotPublished(s, t, now: now)
                let answer: FundingLookup = remembered ? .notPublished : try await market.funding(symbol: s, fundingTimeMs: t)
                switch answer {
                case .rate(let r): rates[t, default: [:]][s] = r
                case .none: break
                case .notPublished:
                    // Only a real answer starts the half minute again (a remembered one would
                    // postpone the next ask for as long as calls keep coming).
                    if !remembered { noteNotPublished(s, t, now: now) }
                    if now - t < Self.fundingPublicationWaitMs {
                        replayUntil = t
                        break scan
                    }
                    unpublished.append((s, t))
                }
            }
            t += FundingSchedule.intervalMs
        }
        // Held at a mark the books already reached: nothing to replay yet.
        guard replayUntil > from else { return true }
        var candles: [String: [Candle]] = [:], marks: [String: [Int64: Candle]] = [:]
        for s in symbols {
            candles[s] = try await market.candles1m(symbol: s, fromMs: from, toMs: replayUntil)
            marks[s] = Dictionary(try await market.markCandles1m(symbol: s, fromMs: from, toMs: replayUntil).map { ($0.openTimeMs, $0) }, uniquingKeysWith: { a, _ in a })
        }
        let ticks = symbols.isEmpty ? [:] : try await rulesProvider(symbols).mapValues(\.tickSize)
        // A mark whose 1m candle is missing (a gap in the klines while funding still settles) is
        // charged all the same, on the mark price at the mark, before the first later candle.
        var gapPrices: [String: [Int64: Double]] = [:]
        for (t, bySymbol) in rates where t < replayUntil {
            for s in bySymbol.keys where !(candles[s] ?? []).contains(where: { $0.openTimeMs == t }) {
                gapPrices[s, default: [:]][t] = try await market.markPrice(symbol: s, atMs: t)
            }
        }
        let candlesBySymbol = candles, ratesByTime = rates, marksBySymbol = marks, settledUntil = replayUntil, givenUp = unpublished, gapPriceAt = gapPrices
        let replayed = try db.write { db -> Bool in
            var account = try self.account(db)
            // Another settler (a second process on this database) moved the time while the candles
            // were read: replaying [from, until) again would pay funding and fill orders twice.
            guard account.processedUntilMs == from else { return false }
            // Another process opened, closed or reversed a position, or placed or ended a waiting
            // order, in a symbol set this replay was prepared without (a fill or a stop at the
            // books' settled minute, review 11 L2): replaying now would skip the new position's
            // funding or the new order's first minutes. The positions and orders themselves are
            // read below, in this transaction; only which symbols to replay and which pay funding
            // were read before.
            guard try self.replayInputs(db) == inputs else { return false }
            for s in symbols {
                var algos = try self.openAlgos(db, symbol: s)
                // The marks of [from, until) in order, each settled before the first candle at or
                // after it: funding is settled at the start of the minute that begins on the 8h
                // mark, on the mark price, whether or not that minute has a candle.
                var due = FundingSchedule.firstMark(atOrAfter: from)
                func settleMarks(upTo openMs: Int64, candle: Candle?, mark: Candle?) throws {
                    while due < settledUntil, due <= openMs {
                        let t = due
                        due += FundingSchedule.intervalMs
                        if let r = ratesByTime[t]?[s] {
                            let pos = try self.position(db, s)
                            guard pos.amt != 0 else { continue }
                            let open: Double
                            if let candle { open = (mark ?? candle).open } else if let p = gapPriceAt[s]?[t] { open = p } else {
                                throw ExchangeError.badResponse(endpoint: "paper market data", reason: "no mark price of \(s) at \(t) ms for its funding")
                            }
                            let amount = -(pos.amt * (try Self.decimal(open)) * (try Self.decimal(r))).rounded(scale: 8)
                            account.balance += amount
                            try db.cachedStatement(sql: "INSERT INTO paper_income (symbol, type, income, time_ms) VALUES (?, 'FUNDING_FEE', ?, ?)").execute(arguments: [s, amount.plainString, t])
                        } else if givenUp.contains(where: { $0.symbol == s && $0.timeMs == t }), try self.position(db, s).amt != 0 {
                            // A rate still missing past the wait: the payment is not made up later, and
                            // it is said, in the transaction that settles past it, never silently.
                            let when = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(t) / 1000))
                            try GobotDatabase.enqueue(db, channel: "telegram", kind: "error",
                                                      payload: "⚠️ paper funding of \(s) at \(when): the exchange published no rate \((now - t) / 60_000) min "
                                                          + "after the mark; the paper books settled past it without charging it (paper P&L lacks this payment)",
                                                      dedupeKey: "paper-funding-unpublished-\(s)-\(t)", atMs: now)
                        }
                    }
                }
                for c in candlesBySymbol[s] ?? [] {
                    let mark = marksBySymbol[s]?[c.openTimeMs]
                    // A mark before this candle (its own was missing) on the price at the mark; one at it on this candle.
                    try settleMarks(upTo: c.openTimeMs - 1, candle: nil, mark: nil)
                    try settleMarks(upTo: c.openTimeMs, candle: c, mark: mark)
                    if !algos.isEmpty, try self.trigger(db, account: &account, symbol: s, algos: algos, candle: c, mark: mark, tickSize: ticks[s] ?? 0) {
                        algos = try self.openAlgos(db, symbol: s)
                    }
                }
                // Marks after the last candle of the window.
                try settleMarks(upTo: .max, candle: nil, mark: nil)
            }
            account.processedUntilMs = settledUntil
            try self.save(db, account)
            return true
        }
        // Not replayed: the caller starts again from where the other settler stopped (or finds it
        // done), or with the symbols as they are now.
        guard replayed else { return false }
        noteSettled(replayUntil)
        return true
    }

    /// What a replay is prepared with before its write: the symbols whose candles it reads (a
    /// waiting order or an open position) and those held, whose funding rates it asks for.
    struct ReplayInputs: Equatable { var symbols: [String]; var held: Set<String> }

    /// One statement, run when the replay starts and again in its write transaction. Comparing
    /// the inputs themselves, rather than a version counter bumped by every writer, is exact by
    /// construction (a writer added later cannot forget the bump, and no migration is needed),
    /// and it costs one query over the waiting orders and open positions (a handful of rows) on
    /// the replay path only: the quiet minute and the already-settled minute never run it.
    /// An order or position that came and went in between leaves the inputs unchanged, and it
    /// may: the replay reads the orders and positions themselves in its write transaction.
    func replayInputs(_ db: Database) throws -> ReplayInputs {
        let rows = try GobotDatabase.rows(db, """
            SELECT symbol, MAX(held) FROM (SELECT symbol, 0 AS held FROM paper_algo WHERE status = 'NEW'
                UNION ALL SELECT symbol, 1 FROM paper_positions WHERE amt != '0') GROUP BY symbol ORDER BY symbol
            """, table: "paper_algo, paper_positions") { (try $0.text(0, "symbol"), try $0.int64(1, "held") != 0) }
        return ReplayInputs(symbols: rows.map(\.0), held: Set(rows.filter(\.1).map(\.0)))
    }

    /// How long the replay waits at a funding mark for a held symbol's rate the live exchange
    /// has not published. Shorter than reconcile's income overlap (10 min): the payment is
    /// stamped at its mark, and a booking cursor can pass the mark only once this wait is over.
    public static let fundingPublicationWaitMs: Int64 = 9 * 60_000

    /// A symbol's waiting conditional orders, stops first (the pessimistic reading when both trigger in one candle).
    func openAlgos(_ db: Database, symbol: String) throws -> [AlgoOrder] {
        try GobotDatabase.rows(db, "SELECT \(Self.algoColumns) FROM paper_algo WHERE symbol = ? AND status = 'NEW' ORDER BY (order_type = 'STOP_MARKET') DESC, algo_id",
                               [symbol], table: "paper_algo", Self.algo)
    }

    /// Triggers what `candle` reaches of `algos` (the symbol's waiting orders); true when an
    /// order changed status, so the caller reads them again.
    func trigger(_ db: Database, account: inout Account, symbol: String, algos: [AlgoOrder], candle c: Candle, mark: Candle?, tickSize: Decimal) throws -> Bool {
        var changed = false
        for a in algos {
            let side = a.side
            guard let reached = FillRules.protectiveFill(isStop: a.orderType == "STOP_MARKET", side: side, trigger: a.triggerPrice, last: c, mark: mark,
                                                         placedAtMs: a.updateTimeMs) else {
                continue
            }
            let pos = try position(db, symbol)
            guard let algoId = Int64(a.algoId) else { throw RowDecodingError(table: "paper_algo", column: "algo_id", value: a.algoId) }
            let closes = side.reduces(pos.amt)
            guard closes else {
                try db.cachedStatement(sql: "UPDATE paper_algo SET status = 'EXPIRED', time_ms = ? WHERE algo_id = ?").execute(arguments: [c.openTimeMs, algoId])
                changed = true
                continue
            }
            // TAKE_PROFIT_MARKET and STOP_MARKET both become market orders: both pay slippage.
            let price = FillRules.slipped(reached, side: side, bps: slippageBps, tickSize: tickSize)
            let orderId = account.nextId
            account.nextId += 1
            let qty = abs(pos.amt)
            try db.cachedStatement(sql: """
                INSERT INTO paper_orders (order_id, client_order_id, symbol, side, type, status, qty, executed_qty, avg_price, reduce_only, time_ms)
                VALUES (?, ?, ?, ?, 'MARKET', 'FILLED', ?, ?, ?, 1, ?)
                """).execute(arguments: [orderId, "algo-\(algoId)", symbol, side.rawValue, qty.plainString, qty.plainString, price.plainString, c.openTimeMs + 30_000])
            try fill(db, account: &account, symbol: symbol, side: side, qty: qty, price: price, orderId: String(orderId), atMs: c.openTimeMs + 30_000)
            try db.cachedStatement(sql: "UPDATE paper_algo SET status = 'FINISHED', actual_order_id = ?, time_ms = ? WHERE algo_id = ?").execute(arguments: [String(orderId), c.openTimeMs + 30_000, algoId])
            return true  // the position is gone; the sibling stays NEW until reconcile cancels it
        }
        return changed
    }

    // MARK: FuturesExchange

    public func serverTimeMs() async throws -> Int64 { nowMs() }

    public func symbolRules(symbols: [String]) async throws -> [String: SymbolRules] {
        try await rulesProvider(symbols)
    }

    public func klines(symbol: String, interval: Interval, startMs: Int64?, limit: Int) async throws -> [Candle] {
        try await market.klines(symbol: symbol, interval: interval, startMs: startMs, limit: limit, nowMs: nowMs())
    }

    public func tickers24h() async throws -> [Ticker24h] {
        var out: [Ticker24h] = []
        for s in market.symbols() {
            let day = try await market.klines(symbol: s, interval: .m15, startMs: nowMs() - 86_400_000, limit: 96, nowMs: nowMs())
            guard let first = day.first, let last = day.last else { continue }
            let qv = day.reduce(0.0) { $0 + $1.volume * $1.close }
            out.append(Ticker24h(symbol: s, lastPrice: try Self.decimal(last.close), quoteVolume: try Self.decimal(qv.rounded()),
                                 priceChangePercent: try Self.decimal(((last.close / first.open - 1) * 10_000).rounded() / 100)))
        }
        return out
    }

    public func markPrice(symbol: String) async throws -> Double { try await market.markPrice(symbol: symbol, atMs: nowMs()) }

    public func balanceUSDT() async throws -> Double {
        try await settle()
        return try db.write { try self.account($0).balance.doubleValue }
    }

    public func positions() async throws -> [ExchangePosition] {
        try await settle()
        let rows: [(String, Decimal, Decimal)] = try db.read { db in
            try GobotDatabase.rows(db, "SELECT symbol, amt, entry_price FROM paper_positions WHERE amt != '0'", table: "paper_positions") {
                (try $0.text(0, "symbol"), try $0.decimal(1, "amt"), try $0.decimal(2, "entry_price"))
            }
        }
        var out: [ExchangePosition] = []
        for (symbol, amt, entry) in rows {
            guard amt != 0 else { continue }
            let mark = try Self.decimal(try await market.price(symbol: symbol, atMs: nowMs()))
            out.append(ExchangePosition(symbol: symbol, positionAmt: amt, entryPrice: entry, markPrice: mark, unrealizedProfit: (mark - entry) * amt))
        }
        return out
    }

    public func setLeverage(symbol: String, leverage: Int) async throws {}
    public func setMarginType(symbol: String, marginType: String) async throws {}
    public func ensureOneWayMode() async throws {}

    /// Fills at the clock's time, on books settled exactly to that minute: a fill stamped after the
    /// settled time would change the position the replay of the minutes between sees (funding
    /// charged to a position opened after its mark, or not to one closed after it), and one
    /// stamped before it would land in minutes already replayed without it (another process
    /// settled them during this one's price await, or its clock is ahead). The time is read after
    /// awaits, so when the books are not at its minute (the clock crossed a minute meanwhile, a
    /// funding rate not yet published holds them at its mark, another process settled past it)
    /// they are settled again and the time read again, a few times, then the order is refused
    /// (``booksNotSettledCode``) and nothing filled.
    public func placeMarketOrder(_ r: MarketOrderRequest) async throws -> ExchangeOrder {
        var settledUntil: Int64 = 0, fillMinute: Int64 = 0
        for _ in 0..<Self.settleAttempts {
            if let order = try await fillMarketOrder(r, settledUntil: &settledUntil, fillMinute: &fillMinute) { return order }
        }
        throw ExchangeError.rejected(code: Self.booksNotSettledCode,
                                     message: "paper books settled up to \(settledUntil) ms, not the fill's minute \(fillMinute) ms, after \(Self.settleAttempts) attempts "
                                        + "(a funding rate not published yet holds them at its mark for at most \(Self.fundingPublicationWaitMs / 60_000) min, "
                                        + "another process settles them, or one whose clock is ahead settled them past this one's minute); "
                                        + "nothing was filled, try again")
    }

    /// The paper exchange's own refusal of a market order while its books cannot reach the
    /// order's minute. Nothing was filled, and the paper exchange knows it: a definite refusal
    /// (the entry fails at once, a close is retried by reconcile), not an unknown outcome with its
    /// look-ups and alarm. Binance's codes are -1xxx to -5xxx.
    public static let booksNotSettledCode = -9001

    /// One attempt of ``placeMarketOrder(_:)``; nil when the books were not settled exactly to the fill's minute.
    private func fillMarketOrder(_ r: MarketOrderRequest, settledUntil: inout Int64, fillMinute: inout Int64) async throws -> ExchangeOrder? {
        do {
            try await settle()
        } catch ExchangeError.unavailable(let why) {
            // The settle gave up (overtaken by another settler, or the market data is unavailable)
            // before anything was written for this order.
            throw ExchangeError.rejected(code: Self.booksNotSettledCode, message: "paper books could not be settled (\(why)); nothing was filled, try again")
        }
        guard let rule = try await rulesProvider([r.symbol])[r.symbol] else { throw ExchangeError.rejected(code: -1121, message: "Invalid symbol.") }
        guard r.quantity > 0, r.quantity == rule.roundMarketQuantity(r.quantity) else {
            throw ExchangeError.rejected(code: -1111, message: "Precision is over the maximum defined for this asset.")
        }
        let now = nowMs()
        let last = try Self.decimal(try await market.price(symbol: r.symbol, atMs: now))
        if !r.reduceOnly && last * r.quantity < rule.minNotional {
            throw ExchangeError.rejected(code: -4164, message: "Order's notional must be no smaller than \(rule.minNotional) (unless you choose reduce only).")
        }
        let minute = now / 60_000 * 60_000
        let filled = try db.write { db -> (order: ExchangeOrder?, settledUntil: Int64) in
            if try Row.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM paper_orders WHERE client_order_id = ?"), arguments: [r.clientOrderId]) != nil {
                throw ExchangeError.rejected(code: -4116, message: "ClientOrderId is duplicated.")
            }
            var account = try self.account(db)
            // Exactly at the fill's minute: books behind it would replay the minutes in between
            // with the new position; books past it (another process settled them while this one
            // awaited its price, or one whose clock is ahead) have replayed its minute without
            // it, and a funding mark there would never be charged to it. At its minute, a
            // settler replaying from there sees the fill before its write (``replayInputs(_:)``).
            guard account.processedUntilMs == minute else { return (nil, account.processedUntilMs) }
            var qty = r.quantity
            if r.reduceOnly {
                let pos = try self.position(db, r.symbol)
                let reduces = r.side.reduces(pos.amt)
                guard reduces else { throw ExchangeError.rejected(code: -2022, message: "ReduceOnly Order is rejected.") }
                qty = min(qty, abs(pos.amt))
            }
            let price = FillRules.slipped(last, side: r.side, bps: self.slippageBps, tickSize: rule.tickSize)
            let orderId = account.nextId
            account.nextId += 1
            try db.cachedStatement(sql: """
                INSERT INTO paper_orders (order_id, client_order_id, symbol, side, type, status, qty, executed_qty, avg_price, reduce_only, time_ms)
                VALUES (?, ?, ?, ?, 'MARKET', 'FILLED', ?, ?, ?, ?, ?)
                """).execute(arguments: [orderId, r.clientOrderId, r.symbol, r.side.rawValue, r.quantity.plainString, qty.plainString, price.plainString, r.reduceOnly, now])
            try self.fill(db, account: &account, symbol: r.symbol, side: r.side, qty: qty, price: price, orderId: String(orderId), atMs: now)
            try self.save(db, account)
            return (ExchangeOrder(symbol: r.symbol, orderId: String(orderId), clientOrderId: r.clientOrderId, side: r.side, type: "MARKET",
                                  status: "FILLED", origQty: r.quantity, executedQty: qty, avgPrice: price, reduceOnly: r.reduceOnly, updateTimeMs: now),
                    account.processedUntilMs)
        }
        settledUntil = filled.settledUntil
        fillMinute = minute
        return filled.order
    }

    static func order(_ r: Row) throws -> ExchangeOrder {
        let t = "paper_orders"
        return ExchangeOrder(symbol: r["symbol"], orderId: String(r["order_id"] as Int64), clientOrderId: r["client_order_id"],
                             side: try r.enumValue("side", table: t), type: r["type"], status: r["status"],
                             origQty: try r.decimal("qty", table: t), executedQty: try r.decimal("executed_qty", table: t),
                             avgPrice: try r.decimal("avg_price", table: t), reduceOnly: r["reduce_only"], updateTimeMs: r["time_ms"])
    }

    public func queryOrder(symbol: String, clientOrderId: String) async throws -> ExchangeOrder? {
        try db.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM paper_orders WHERE client_order_id = ? AND symbol = ?"), arguments: [clientOrderId, symbol]).map(Self.order)
        }
    }

    public func openOrders(symbol: String?) async throws -> [ExchangeOrder] { [] }  // market orders fill at once

    public func cancelOrder(symbol: String, clientOrderId: String) async throws {
        throw ExchangeError.rejected(code: -2011, message: "Unknown order sent.")
    }

    public func placeProtectiveOrder(_ r: ProtectiveOrderRequest) async throws -> AlgoOrder {
        try await settle()
        guard let rule = try await rulesProvider([r.symbol])[r.symbol] else { throw ExchangeError.rejected(code: -1121, message: "Invalid symbol.") }
        guard r.triggerPrice == rule.roundPrice(r.triggerPrice) else {
            throw ExchangeError.rejected(code: -4014, message: "Price not increased by tick size.")
        }
        let now = nowMs()
        // Binance checks against the mark price (workingType=MARK_PRICE).
        let mark = try Self.decimal(try await market.markPrice(symbol: r.symbol, atMs: now))
        let immediate: Bool = switch (r.kind, r.side) {
        case (.stopMarket, .sell): mark <= r.triggerPrice
        case (.stopMarket, .buy): mark >= r.triggerPrice
        case (.takeProfitMarket, .sell): mark >= r.triggerPrice
        case (.takeProfitMarket, .buy): mark <= r.triggerPrice
        }
        if immediate { throw ExchangeError.rejected(code: -2021, message: "Order would immediately trigger.") }
        return try db.write { db in
            if try Row.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM paper_algo WHERE client_algo_id = ? AND status = 'NEW'"), arguments: [r.clientAlgoId]) != nil {
                throw ExchangeError.rejected(code: -4116, message: "ClientOrderId is duplicated.")
            }
            var account = try self.account(db)
            // Placed at the time its immediate-trigger check used, never inside minutes already
            // replayed: another process may have settled past `now` during the mark-price await,
            // and those minutes' candles would never be checked for this order (review 11, L2); a
            // settler replaying from the settled time sees it before its write (``replayInputs(_:)``).
            // Not the clock read again here: an await that crosses a minute would stamp the order
            // in the next minute, whose candle is then checked on its close only, and a stop
            // crossed and recovered inside it would never fill (review 14, L1).
            let placedAt = max(now, account.processedUntilMs)
            let id = account.nextId
            account.nextId += 1
            try self.save(db, account)
            try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO paper_algo (algo_id, client_algo_id, symbol, side, order_type, status, trigger_price, time_ms)
                VALUES (?, ?, ?, ?, ?, 'NEW', ?, ?)
                """).execute(arguments: [id, r.clientAlgoId, r.symbol, r.side.rawValue, r.kind.rawValue, r.triggerPrice.plainString, placedAt])
            return AlgoOrder(algoId: String(id), clientAlgoId: r.clientAlgoId, symbol: r.symbol, side: r.side, orderType: r.kind.rawValue,
                             algoStatus: "NEW", triggerPrice: r.triggerPrice, closePosition: true, updateTimeMs: placedAt)
        }
    }

    /// The columns ``algo(_:)`` reads, in its order.
    static let algoColumns = "algo_id, client_algo_id, symbol, side, order_type, status, trigger_price, actual_order_id, time_ms"

    static func algo(_ c: StatementColumns) throws -> AlgoOrder {
        AlgoOrder(algoId: String(try c.int64(0, "algo_id")), clientAlgoId: try c.text(1, "client_algo_id"), symbol: try c.text(2, "symbol"),
                  side: try c.enumValue(3, "side"), orderType: try c.text(4, "order_type"), algoStatus: try c.text(5, "status"),
                  triggerPrice: try c.decimal(6, "trigger_price"), closePosition: true, actualOrderId: try c.text(7, "actual_order_id"),
                  updateTimeMs: try c.int64(8, "time_ms"))
    }

    public func queryAlgoOrder(clientAlgoId: String) async throws -> AlgoOrder? {
        try await settle()
        return try db.read { db in
            try GobotDatabase.rows(db, "SELECT \(Self.algoColumns) FROM paper_algo WHERE client_algo_id = ?", [clientAlgoId], table: "paper_algo", Self.algo).first
        }
    }

    public func openAlgoOrders(symbol: String?) async throws -> [AlgoOrder] {
        try await settle()
        return try db.read { db in
            try GobotDatabase.rows(db, "SELECT \(Self.algoColumns) FROM paper_algo WHERE status = 'NEW' AND (? IS NULL OR symbol = ?) ORDER BY algo_id",
                                   [symbol, symbol], table: "paper_algo", Self.algo)
        }
    }

    public func cancelAlgoOrder(clientAlgoId: String) async throws {
        let changed = try db.write { db in
            try db.cachedStatement(sql: "UPDATE paper_algo SET status = 'CANCELED', time_ms = ? WHERE client_algo_id = ? AND status = 'NEW'").execute(arguments: [self.nowMs(), clientAlgoId])
            return db.changesCount
        }
        if changed == 0 { throw ExchangeError.rejected(code: -2011, message: "Unknown order sent.") }
    }

    public func userTrades(symbol: String, startMs: Int64, endMs: Int64) async throws -> [UserTrade] {
        try await settle()
        return try db.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM paper_trades WHERE symbol = ? AND time_ms BETWEEN ? AND ? ORDER BY id"),
                             arguments: [symbol, startMs, endMs]).map(Self.userTrade)
        }
    }

    private static func userTrade(_ row: Row) throws -> UserTrade {
        UserTrade(id: String(row["id"] as Int64), symbol: row["symbol"], orderId: row["order_id"], side: try row.enumValue("side", table: "paper_trades"),
                  price: try row.decimal("price", table: "paper_trades"), qty: try row.decimal("qty", table: "paper_trades"),
                  realizedPnl: try row.decimal("realized_pnl", table: "paper_trades"), commission: try row.decimal("commission", table: "paper_trades"),
                  commissionAsset: "USDT", timeMs: row["time_ms"])
    }

    public func userTrades(symbol: String, fromId: Int64) async throws -> [UserTrade] {
        try await settle()
        return try db.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM paper_trades WHERE symbol = ? AND id >= ? ORDER BY id LIMIT 1000"),
                             arguments: [symbol, fromId]).map(Self.userTrade)
        }
    }

    public func income(startMs: Int64, endMs: Int64, page: Int) async throws -> [IncomeRecord] {
        try await settle()
        return try db.read { db in
            try GobotDatabase.rows(db, "SELECT id, symbol, type, income, time_ms, trade_id FROM paper_income WHERE time_ms BETWEEN ? AND ? ORDER BY time_ms, id LIMIT ? OFFSET ?",
                                   [startMs, endMs, IncomeRecord.pageSize, max(0, page - 1) * IncomeRecord.pageSize], table: "paper_income") {
                IncomeRecord(tranId: "paper-\(try $0.int64(0, "id"))", symbol: try $0.text(1, "symbol"), incomeType: try $0.text(2, "type"),
                             income: try $0.decimal(3, "income"), asset: "USDT", timeMs: try $0.int64(4, "time_ms"),
                             tradeId: try $0.optionalInt64(5, "trade_id").map(String.init))
            }
        }
    }
}
