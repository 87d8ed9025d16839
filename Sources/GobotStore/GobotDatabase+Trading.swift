import Foundation
import GobotCore
import GRDB

/// An order row. Written with status `intent` before the request leaves the process.
public struct OrderRow: Sendable, Equatable {
    public var id: Int64
    public var clientOrderId: String
    public var positionId: Int64?
    public var symbol: String
    public var side: OrderSide
    public var purpose: String
    public var type: String
    public var quantity: Decimal
    public var triggerPrice: Decimal?
    public var status: String
    public var exchangeOrderId: String?
    public var avgPrice: Decimal?
    public var executedQty: Decimal?
    public var createdAtMs: Int64
    public var error: String?

    /// The columns ``init(_:)`` reads, in its order: every orders query selects exactly these.
    static let columns = "id, client_order_id, position_id, symbol, side, purpose, type, quantity, trigger_price, status, exchange_order_id, avg_price, executed_qty, created_at_ms, error"

    /// Reads ``columns`` by position, strictly: reconcile reads pending orders every run, and an
    /// amount that does not read is an error, never nil or 0.
    init(_ c: StatementColumns) throws {
        id = try c.int64(0, "id")
        clientOrderId = try c.text(1, "client_order_id")
        positionId = try c.optionalInt64(2, "position_id")
        symbol = try c.text(3, "symbol")
        side = try c.enumValue(4, "side")
        purpose = try c.text(5, "purpose")
        type = try c.text(6, "type")
        quantity = try c.decimal(7, "quantity")
        triggerPrice = try c.optionalDecimal(8, "trigger_price")
        status = try c.text(9, "status")
        exchangeOrderId = try c.optionalText(10, "exchange_order_id")
        avgPrice = try c.optionalDecimal(11, "avg_price")
        executedQty = try c.optionalDecimal(12, "executed_qty")
        createdAtMs = try c.int64(13, "created_at_ms")
        error = try c.optionalText(14, "error")
    }
}

/// A position as gobot booked it.
public struct PositionRow: Sendable, Equatable {
    public var id: Int64
    public var symbol: String
    public var side: PositionSide
    public var signalId: Int64?
    public var quantity: Decimal
    public var entryPrice: Decimal
    public var stopPrice: Decimal
    public var targetPrice: Decimal
    public var notionalUSD: Decimal
    public var status: String
    public var openedAtMs: Int64
    public var closedAtMs: Int64?
    public var exitPrice: Decimal?
    public var exitReason: String?
    public var realizedPnl: Decimal?
    public var fees: Decimal
    public var funding: Decimal

    /// The columns ``init(_:)`` reads, in its order: every positions query selects exactly these.
    static let columns = """
        id, symbol, side, signal_id, quantity, entry_price, stop_price, target_price, notional_usd, status, opened_at_ms, \
        closed_at_ms, exit_price, exit_reason, realized_pnl, fees, funding
        """

    /// Reads ``columns`` by position, through SQLite's C API (``StatementColumns``): live
    /// positions are read by every cron step. Times are read strictly: a text opened_at_ms read
    /// as 0 would drop a position opened today out of today's trade count and exposure.
    init(_ c: StatementColumns) throws {
        id = try c.int64(0, "id")
        symbol = try c.text(1, "symbol")
        side = try c.enumValue(2, "side")
        signalId = try c.optionalInt64(3, "signal_id")
        quantity = try c.decimal(4, "quantity")
        entryPrice = try c.decimal(5, "entry_price")
        stopPrice = try c.decimal(6, "stop_price")
        targetPrice = try c.decimal(7, "target_price")
        notionalUSD = try c.decimal(8, "notional_usd")
        status = try c.text(9, "status")
        openedAtMs = try c.int64(10, "opened_at_ms")
        closedAtMs = try c.optionalInt64(11, "closed_at_ms")
        exitPrice = try c.optionalDecimal(12, "exit_price")
        exitReason = try c.optionalText(13, "exit_reason")
        realizedPnl = try c.optionalDecimal(14, "realized_pnl")
        fees = try c.decimal(15, "fees")
        funding = try c.decimal(16, "funding")
        // A closed position always has its realized P&L (closePosition writes them together):
        // one without it would count as a trade that made 0 in every net figure.
        if status == "closed", realizedPnl == nil {
            throw RowDecodingError(table: "positions", column: "realized_pnl (closed position \(id))", value: "")
        }
    }

    /// Net result: realized P&L after fees and funding. Realized P&L is missing only before the
    /// close (decoding rejects a closed row without it): an open position has realized nothing yet.
    public var netPnl: Decimal { (realizedPnl ?? 0) - fees + funding }
}

/// A fee of a closed position gobot could not value in USDT at the close (no <ASSET>USDT price
/// then): the position closed without it, and reconcile adds it to the position's fees in the
/// transaction that books it in the ledger, once it can value it.
public struct UnvaluedFee: Sendable, Equatable {
    public var timeMs: Int64
    public var asset: String
    /// What was paid, in `asset` (positive).
    public var amount: Decimal
    /// The fill it was paid on (``UserTrade/id``), which its income record names too; nil in a
    /// key written before trade ids were kept, or for an income record of no trade.
    public var tradeId: String?

    public init(timeMs: Int64, asset: String, amount: Decimal, tradeId: String? = nil) {
        self.timeMs = timeMs
        self.asset = asset
        self.amount = amount
        self.tradeId = tradeId
    }

    /// Where a closed position's unvalued fees wait, one "timeMs asset amount [tradeId]" line each
    /// (the trade id is left out when unknown, as keys written before it was kept read).
    public static func key(positionId: Int64) -> String { "fees_unvalued_\(positionId)" }

    var line: String { "\(timeMs) \(asset) \(amount.plainString)" + (tradeId.map { " \($0)" } ?? "") }

    static func parse(_ text: String, key: String) throws -> [UnvaluedFee] {
        try text.split(separator: "\n").map { line in
            let f = line.split(separator: " ")
            // A trade id as gobot writes it (a canonical non-negative integer): a damaged one would
            // match no record and the fee would wait for ever unsaid (review 15, L2).
            guard f.count == 3 || f.count == 4, let t = Int64(f[0]), let amount = Decimal(exchangeString: String(f[2])),
                  f.count == 3 || Int64(f[3]).map({ $0 >= 0 && String($0) == f[3] }) == true else {
                throw RowDecodingError(table: "kv", column: "value (key \(key))", value: text,
                                       remedy: "each line must read 'timeMs asset amount' or 'timeMs asset amount tradeId', the fees the position closed without; fix it, "
                                           + "or delete the key (the position's fees then stay without them)")
            }
            return UnvaluedFee(timeMs: t, asset: String(f[1]), amount: amount, tradeId: f.count == 4 ? String(f[3]) : nil)
        }
    }

    /// How a booked commission (`self`, from its income record) stands to the fees a closed
    /// position waits for.
    public enum Match: Equatable, Sendable {
        /// It is the waiting fee at this index: the same trade id, or, where either side has no
        /// trade id, the same time, asset and amount.
        case fee(at: Int)
        /// It matches none, but a waiting fee without a comparable trade id has its asset and
        /// amount at another time: it may be that fee (the records' times are not documented
        /// to be the fills').
        case lookalike
        /// None of the waiting fees: a fee the close valued, or another trade's.
        case none
    }

    /// The trade id decides when both sides have one (a fee the close valued has the same asset
    /// and amount as one it left out, and two fills can share a millisecond); the time, asset
    /// and amount only where one side has none.
    public func match(in waiting: [UnvaluedFee]) -> Match {
        if let id = tradeId, let i = waiting.firstIndex(where: { $0.tradeId == id }) { return .fee(at: i) }
        let comparable = waiting.indices.filter { tradeId == nil || waiting[$0].tradeId == nil }
        if let i = comparable.first(where: { waiting[$0].timeMs == timeMs && waiting[$0].asset == asset && waiting[$0].amount == amount }) { return .fee(at: i) }
        return comparable.contains { waiting[$0].asset == asset && waiting[$0].amount == amount } ? .lookalike : .none
    }
}

/// What booking a commission did to the fees its closed position waits for, decided in the
/// booking's own transaction: the match and the waiting fees as they stood before it.
public struct FeeValuation: Sendable, Equatable {
    public var match: UnvaluedFee.Match
    public var waiting: [UnvaluedFee]
}

/// What the entry step writes in one transaction before any request is sent.
public struct EntryIntent: Sendable {
    public var plan: EntryPlan
    public var signalId: Int64
    public var entryClientId: String

    public init(plan: EntryPlan, signalId: Int64, entryClientId: String) {
        self.plan = plan
        self.signalId = signalId
        self.entryClientId = entryClientId
    }
}

extension GobotDatabase {
    /// Books the position (status `opening`) and the entry order intent together, with an audit entry.
    /// Returns the position id.
    public func recordEntryIntent(_ intent: EntryIntent, atMs: Int64) throws -> Int64 {
        try write { db in
            let p = intent.plan
            try db.cachedStatement(sql: """
                INSERT INTO positions (symbol, side, signal_id, quantity, entry_price, stop_price, target_price, notional_usd, status, opened_at_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'opening', ?)
                """).execute(arguments: [p.symbol, p.side.rawValue, intent.signalId, p.quantity.plainString, p.referencePrice.plainString,
                                 p.stopPrice.plainString, p.targetPrice.plainString, p.notionalUSD.plainString, atMs])
            let positionId = db.lastInsertedRowID
            try Self.insertIntent(db, clientOrderId: intent.entryClientId, positionId: positionId, symbol: p.symbol, side: p.side.entrySide,
                                  purpose: "entry", type: "MARKET", quantity: p.quantity, triggerPrice: nil, atMs: atMs)
            try db.cachedStatement(sql: "UPDATE signals SET status = 'traded', decision = ? WHERE id = ?").execute(arguments: ["entry \(p.side.rawValue) \(p.quantity.plainString) @ ~\(p.referencePrice.plainString)", intent.signalId])
            try Self.appendAudit(db, atMs: atMs, actor: "trade", action: "entry_intent",
                                 detail: "\(p.symbol) \(p.side.rawValue) qty \(p.quantity.plainString) stop \(p.stopPrice.plainString) target \(p.targetPrice.plainString) id \(intent.entryClientId)")
            return positionId
        }
    }

    /// Records that an order is about to be sent. The unique client id makes a second insert fail
    /// instead of creating a second order.
    public func recordIntent(clientOrderId: String, positionId: Int64?, symbol: String, side: OrderSide, purpose: String,
                             type: String, quantity: Decimal, triggerPrice: Decimal?, atMs: Int64) throws {
        try write { db in
            try Self.insertIntent(db, clientOrderId: clientOrderId, positionId: positionId, symbol: symbol, side: side, purpose: purpose,
                                  type: type, quantity: quantity, triggerPrice: triggerPrice, atMs: atMs)
        }
    }

    static func insertIntent(_ db: Database, clientOrderId: String, positionId: Int64?, symbol: String, side: OrderSide, purpose: String,
                             type: String, quantity: Decimal, triggerPrice: Decimal?, atMs: Int64) throws {
        try db.cachedStatement(sql: """
            INSERT INTO orders (client_order_id, position_id, symbol, side, purpose, type, quantity, trigger_price, status, created_at_ms, updated_at_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'intent', ?, ?)
            """).execute(arguments: [clientOrderId, positionId, symbol, side.rawValue, purpose, type, quantity.plainString,
                             triggerPrice?.plainString, atMs, atMs])
    }

    public func updateOrder(clientOrderId: String, status: String, exchangeOrderId: String? = nil, avgPrice: Decimal? = nil,
                            executedQty: Decimal? = nil, error: String? = nil, atMs: Int64) throws {
        try write { db in
            try db.cachedStatement(sql: """
                UPDATE orders SET status = ?, exchange_order_id = COALESCE(?, exchange_order_id), avg_price = COALESCE(?, avg_price),
                    executed_qty = COALESCE(?, executed_qty), error = COALESCE(?, error), updated_at_ms = ?
                WHERE client_order_id = ?
                """).execute(arguments: [status, exchangeOrderId, avgPrice?.plainString, executedQty?.plainString, error, atMs, clientOrderId])
        }
    }

    public func order(clientOrderId: String) throws -> OrderRow? {
        try read { db in try Self.rows(db, "SELECT \(OrderRow.columns) FROM orders WHERE client_order_id = ?", [clientOrderId], table: "orders", OrderRow.init).first }
    }

    /// Which of `clientOrderIds` have an order row, in one statement (per hundred ids).
    public func recordedClientOrderIds(_ clientOrderIds: [String]) throws -> Set<String> {
        guard !clientOrderIds.isEmpty else { return [] }
        return try read { db in
            var found = Set<String>()
            for start in stride(from: 0, to: clientOrderIds.count, by: Self.unionTermsPerRead) {
                let chunk = Array(clientOrderIds[start..<min(start + Self.unionTermsPerRead, clientOrderIds.count)])
                found.formUnion(try Self.rows(db, Self.recordedClientOrderIdsSQL(chunk.count), Self.arguments(chunk), table: "orders") { c in try c.text(0, "client_order_id") })
            }
            return found
        }
    }

    /// One search per id (``anyOf(_:count:)``).
    static func recordedClientOrderIdsSQL(_ count: Int) -> String { anyOf("SELECT client_order_id FROM orders WHERE client_order_id = ?", count: count) }

    public func orders(statuses: [String]? = nil) throws -> [OrderRow] {
        try read { db in
            if let statuses {
                let marks = statuses.map { _ in "?" }.joined(separator: ",")
                return try Self.rows(db, "SELECT \(OrderRow.columns) FROM orders WHERE status IN (\(marks)) ORDER BY id", Self.arguments(statuses),
                                     table: "orders", OrderRow.init)
            }
            return try Self.rows(db, "SELECT \(OrderRow.columns) FROM orders ORDER BY id", table: "orders", OrderRow.init)
        }
    }

    /// The orders reconcile looks up by client id: outcome not known (`intent`, `unknown`), and
    /// market orders (entry, close) still `open`. Open protective orders are not among them:
    /// the exchange's listing follows those.
    public func ordersToResolve() throws -> [OrderRow] {
        try read { db in
            try Self.rows(db, Self.ordersToResolveSQL, table: "orders", OrderRow.init).sorted { $0.id < $1.id }
        }
    }

    /// One search per status on orders_status, sorted by the caller (``anyOf(_:count:)``).
    static let ordersToResolveSQL = """
        SELECT \(OrderRow.columns) FROM orders WHERE status = 'intent'
        UNION ALL SELECT \(OrderRow.columns) FROM orders WHERE status = 'unknown'
        UNION ALL SELECT \(OrderRow.columns) FROM orders WHERE status = 'open' AND (purpose = 'entry' OR purpose = 'close')
        """

    public func orders(positionId: Int64) throws -> [OrderRow] {
        try read { db in try Self.rows(db, "SELECT \(OrderRow.columns) FROM orders WHERE position_id = ? ORDER BY id", [positionId], table: "orders", OrderRow.init) }
    }

    // MARK: positions

    public func livePositions() throws -> [PositionRow] {
        try read { db in try Self.livePositions(db) }
    }

    static func livePositions(_ db: Database) throws -> [PositionRow] {
        try rows(db, livePositionsSQL, table: "positions", PositionRow.init).sorted { $0.id < $1.id }
    }

    /// One search per status on the status index (v13), sorted by the caller (``anyOf(_:count:)``).
    static let livePositionsSQL = """
        SELECT \(PositionRow.columns) FROM positions WHERE status = 'opening'
        UNION ALL SELECT \(PositionRow.columns) FROM positions WHERE status = 'open'
        """

    public func positions() throws -> [PositionRow] {
        try read { db in try Self.rows(db, "SELECT \(PositionRow.columns) FROM positions ORDER BY id", table: "positions", PositionRow.init) }
    }

    public func position(id: Int64) throws -> PositionRow? {
        try read { db in try Self.rows(db, "SELECT \(PositionRow.columns) FROM positions WHERE id = ?", [id], table: "positions", PositionRow.init).first }
    }

    public func markPositionOpen(id: Int64, entryPrice: Decimal, quantity: Decimal, atMs: Int64) throws {
        try write { db in
            try db.cachedStatement(sql: "UPDATE positions SET status = 'open', entry_price = ?, quantity = ?, notional_usd = ? WHERE id = ?").execute(arguments: [entryPrice.plainString, quantity.plainString, (entryPrice * quantity).plainString, id])
            try Self.appendAudit(db, atMs: atMs, actor: "gobot", action: "position_open", detail: "position \(id) filled qty \(quantity.plainString) @ \(entryPrice.plainString)")
        }
    }

    public func updateProtectivePrices(id: Int64, stop: Decimal, target: Decimal) throws {
        try write { db in
            try db.cachedStatement(sql: "UPDATE positions SET stop_price = ?, target_price = ? WHERE id = ?").execute(arguments: [stop.plainString, target.plainString, id])
        }
    }

    /// Marks a position that never opened (entry rejected or not found on the exchange).
    public func failPosition(id: Int64, reason: String, atMs: Int64) throws {
        try write { db in
            try db.cachedStatement(sql: "UPDATE positions SET status = 'failed', exit_reason = ?, closed_at_ms = ? WHERE id = ?").execute(arguments: [reason, atMs, id])
            try Self.appendAudit(db, atMs: atMs, actor: "gobot", action: "position_failed", detail: "position \(id): \(reason)")
        }
    }

    /// - Parameter unvaluedFees: fees left out of `fees` (not valued in USDT yet), kept until
    ///   reconcile values them (``addLedger(atMs:symbol:kind:amount:positionId:ref:asset:assetAmount:addsFunding:valuesFee:reportFee:)``).
    public func closePosition(id: Int64, exitPrice: Decimal?, reason: String, realizedPnl: Decimal, fees: Decimal, atMs: Int64,
                              unvaluedFees: [UnvaluedFee] = []) throws {
        try write { db in
            if !unvaluedFees.isEmpty {
                try Self.setValue(db, unvaluedFees.map(\.line).joined(separator: "\n"), forKey: UnvaluedFee.key(positionId: id), atMs: atMs)
            }
            try db.cachedStatement(sql: """
                UPDATE positions SET status = 'closed', exit_price = ?, exit_reason = ?, realized_pnl = ?, fees = ?, closed_at_ms = ?
                WHERE id = ? AND status != 'closed'
                """).execute(arguments: [exitPrice?.plainString, reason, realizedPnl.plainString, fees.plainString, atMs, id])
            try Self.appendAudit(db, atMs: atMs, actor: "reconcile", action: "position_closed",
                                 detail: "position \(id) \(reason) pnl \(realizedPnl.plainString) fees \(fees.plainString)")
        }
    }

    /// Adds in Decimal, never through SQLite REAL: money must not pick up binary rounding.
    public func addFunding(positionId: Int64, amount: Decimal) throws {
        try write { db in try Self.addFunding(db, positionId: positionId, amount: amount) }
    }

    static func addFunding(_ db: Database, positionId: Int64, amount: Decimal) throws {
        try add(db, amount, to: .funding, positionId: positionId)
    }

    /// The money columns of a position that bookings add to after it was written.
    enum PositionAmount: String { case funding, fees }

    /// Adds `amount` to a position's `column`, read strictly (a value that is not a number is an
    /// error naming the column and the position) and written back as text. A position that does not
    /// exist is an error too, which rolls back the caller's ledger row: the record is booked on a
    /// later run, never without its position (a silent skip dropped a waiting fee from its list
    /// while adding it nowhere; review 13, L2).
    static func add(_ db: Database, _ amount: Decimal, to column: PositionAmount, positionId: Int64) throws {
        let name = column.rawValue
        guard let current = try rows(db, "SELECT \(name) FROM positions WHERE id = ?", [positionId], table: "positions", {
            try $0.decimal(0, "\(name) (position \(positionId))")
        }).first else {
            throw RowDecodingError(table: "ledger", column: "position_id", value: String(positionId),
                                   remedy: "it names position \(positionId), which the database does not hold; restore the database from state/backups/ "
                                       + "(README, \"Restoring the state database\")")
        }
        try db.cachedStatement(sql: "UPDATE positions SET \(name) = ? WHERE id = ?").execute(arguments: [(current + amount).plainString, positionId])
    }

    /// The exchange holds a different size than the row says: the exchange is the truth.
    public func correctPositionQuantity(id: Int64, quantity: Decimal, entryPrice: Decimal, was: Decimal, atMs: Int64) throws {
        try write { db in
            try db.cachedStatement(sql: "UPDATE positions SET quantity = ?, entry_price = ?, notional_usd = ? WHERE id = ?").execute(arguments: [quantity.plainString, entryPrice.plainString, (entryPrice * quantity).plainString, id])
            try Self.appendAudit(db, atMs: atMs, actor: "reconcile", action: "position_size_corrected",
                                 detail: "position \(id): recorded qty \(was.plainString), exchange holds \(quantity.plainString)")
        }
    }

    // MARK: ledger

    /// Books one money movement; the unique `ref` (exchange tranId / trade id) makes it idempotent.
    /// Only a booked `ref` is skipped: `INSERT OR IGNORE` also skipped a row that broke a CHECK or
    /// NOT NULL (an unknown `kind`), answering "already booked" for a record that was never booked.
    /// `amount` is in USDT; `asset`/`assetAmount` keep what the exchange charged when it was not USDT.
    /// With `addsFunding`, a row this call inserts also adds `amount` to its position's funding, in
    /// the same transaction: booked in two, a crash or an error between them left the position's
    /// funding short for good (the ref was then booked, so the record was never read again).
    /// With `valuesFee`, a commission booked for a closed position is matched against the fees it
    /// waits for, and `reportFee` turns that match into outbox messages queued in the same
    /// transaction (an alert is never lost between the booking and its queueing).
    @discardableResult
    public func addLedger(atMs: Int64, symbol: String, kind: String, amount: Decimal, positionId: Int64?, ref: String,
                          asset: String = "USDT", assetAmount: Decimal? = nil, addsFunding: Bool = false, valuesFee: UnvaluedFee? = nil,
                          reportFee: (@Sendable (FeeValuation) -> [QueuedMessage])? = nil) throws -> Bool {
        try write { db in
            try db.cachedStatement(sql: """
                INSERT INTO ledger (at_ms, symbol, kind, amount_usd, position_id, ref, asset, asset_amount) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(ref) DO NOTHING
                """).execute(arguments: [atMs, symbol, kind, amount.plainString, positionId, ref, asset, (assetAmount ?? amount).plainString])
            guard db.changesCount > 0 else { return false }
            if addsFunding, let positionId { try Self.addFunding(db, positionId: positionId, amount: amount) }
            if let fee = valuesFee, let positionId, let valuation = try Self.addValuedFee(db, positionId: positionId, fee: fee, usd: -amount, atMs: atMs),
               let reportFee {
                for m in reportFee(valuation) {
                    try Self.enqueue(db, channel: "telegram", kind: m.kind, payload: m.payload, dedupeKey: m.dedupeKey, atMs: m.atMs)
                }
            }
            return true
        }
    }

    /// When `fee` is one the closed position left out of its fees (``UnvaluedFee``), adds its
    /// USDT value to them and drops it from the waiting list; otherwise (a fee valued at the
    /// close, or none of this position's) nothing.
    /// - Returns: how it stood to the waiting fees; nil when none were waiting.
    @discardableResult
    static func addValuedFee(_ db: Database, positionId: Int64, fee: UnvaluedFee, usd: Decimal, atMs: Int64) throws -> FeeValuation? {
        let key = UnvaluedFee.key(positionId: positionId)
        guard let text = try value(db, forKey: key) else { return nil }
        let before = try UnvaluedFee.parse(text, key: key)
        let match = fee.match(in: before)
        guard case .fee(let i) = match else { return FeeValuation(match: match, waiting: before) }
        var waiting = before
        waiting.remove(at: i)
        try add(db, usd, to: .fees, positionId: positionId)
        if waiting.isEmpty {
            try db.cachedStatement(sql: "DELETE FROM kv WHERE key = ?").execute(arguments: [key])
        } else {
            try setValue(db, waiting.map(\.line).joined(separator: "\n"), forKey: key, atMs: atMs)
        }
        return FeeValuation(match: match, waiting: before)
    }

    /// Which of `refs` are already booked, in one statement per 500 refs. Reconcile asks every
    /// run about the few records its window overlap reads again: up to eight are one search each
    /// (``anyOf(_:count:)``), more an IN list, whose temporary b-tree then pays for itself.
    public func bookedLedgerRefs(_ refs: [String]) throws -> Set<String> {
        guard !refs.isEmpty else { return [] }
        return try read { db in
            var found = Set<String>()
            var start = 0
            while start < refs.count {
                let chunk = Array(refs[start..<min(start + 500, refs.count)])
                found.formUnion(try Self.rows(db, Self.bookedLedgerRefsSQL(chunk.count), Self.arguments(chunk), table: "ledger") { c in try c.text(0, "ref") })
                start += chunk.count
            }
            return found
        }
    }

    static func bookedLedgerRefsSQL(_ count: Int) -> String {
        count <= 8 ? anyOf("SELECT ref FROM ledger WHERE ref = ?", count: count) : "SELECT ref FROM ledger WHERE ref IN (\(placeholders(count)))"
    }

    /// One booked money movement with the asset it was paid in.
    public struct LedgerEntry: Sendable, Equatable {
        public var kind: String
        public var amountUSD: Decimal
        public var asset: String
        public var assetAmount: Decimal
    }

    public func ledgerEntries() throws -> [LedgerEntry] {
        try read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT kind, amount_usd, asset, asset_amount FROM ledger ORDER BY id")).map {
                LedgerEntry(kind: $0["kind"], amountUSD: try $0.decimal("amount_usd", table: "ledger"), asset: $0["asset"],
                            assetAmount: try $0.optionalDecimal("asset_amount", table: "ledger") ?? $0.decimal("amount_usd", table: "ledger"))
            }
        }
    }

    public struct LedgerTotals: Sendable, Equatable {
        public var realized: Decimal = 0
        public var commission: Decimal = 0
        public var funding: Decimal = 0
        public var net: Decimal { realized + commission + funding }

        /// A kind gobot does not know is an error: a loss limit must not leave a row out unseen.
        mutating func add(kind: String, amount: Decimal) throws {
            switch kind {
            case "realized_pnl": realized += amount
            case "commission": commission += amount
            case "funding": funding += amount
            case "transfer": break  // capital moved in or out: neither profit nor loss
            default: throw RowDecodingError(table: "ledger", column: "kind", value: kind)
            }
        }
    }

    /// Rows in the ledger (it is append-only: an unchanged count is an unchanged ledger).
    public func ledgerRowCount() throws -> Int {
        try read { db in Int(try Self.rows(db, "SELECT COUNT(*) FROM ledger", table: "ledger") { c in try c.int64(0, "COUNT(*)") }.first ?? 0) }
    }

    /// Sums of the ledger in `[fromMs, toMs)`. Commission is negative (a cost), funding signed.
    public func ledgerTotals(fromMs: Int64, toMs: Int64 = .max) throws -> LedgerTotals {
        try read { db in
            var t = LedgerTotals()
            // A time that is not an integer is selected too, to fail: SQL's comparison would
            // leave it out of every window without a word.
            let stmt = try db.cachedStatement(sql: """
                SELECT kind, amount_usd, at_ms FROM ledger WHERE (at_ms >= ? AND at_ms < ?) OR typeof(at_ms) != 'integer'
                """)
            try stmt.setArguments([fromMs, toMs])
            try Self.step(stmt) { h in
                let c = StatementColumns(h: h, table: "ledger")
                _ = try c.int64(2, "at_ms")
                try t.add(kind: try c.text(0, "kind"), amount: try c.decimal(1, "amount_usd"))
            }
            return t
        }
    }

    /// Totals from each of `starts` to now, in one pass over the ledger (each amount parsed once).
    static func ledgerTotals(_ db: Database, from starts: [Int64]) throws -> [LedgerTotals] {
        var totals = [LedgerTotals](repeating: LedgerTotals(), count: starts.count)
        try step(db.cachedStatement(sql: "SELECT at_ms, kind, amount_usd FROM ledger")) { h in
            let c = StatementColumns(h: h, table: "ledger")
            let at = try c.int64(0, "at_ms"), kind = try c.text(1, "kind"), amount = try c.decimal(2, "amount_usd")
            for (i, start) in starts.enumerated() where at >= start { try totals[i].add(kind: kind, amount: amount) }
        }
        return totals
    }

    /// Every ledger amount from `fromMs`, oldest first (for equity curves).
    public func ledgerAmounts(fromMs: Int64) throws -> [Decimal] {
        try read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT amount_usd FROM ledger WHERE at_ms >= ? ORDER BY at_ms, id"), arguments: [fromMs])
                .map { try $0.decimal("amount_usd", table: "ledger") }
        }
    }

    // MARK: risk inputs

    public struct TradeHistory: Sendable, Equatable {
        public var closed: Int
        public var wins: Int
        public var consecutiveLosses: Int
    }

    public func tradeHistory() throws -> TradeHistory {
        try read { db in try Self.tradeHistory(db) }
    }

    static func tradeHistory(_ db: Database) throws -> TradeHistory {
        let trades = try rows(db, "SELECT realized_pnl, fees, funding FROM positions WHERE status = 'closed' ORDER BY closed_at_ms, id", table: "positions", isWin)
        var wins = 0, streak = 0
        for won in trades {
            if won { wins += 1; streak = 0 } else { streak += 1 }
        }
        let closed = trades.count
        return TradeHistory(closed: closed, wins: wins, consecutiveLosses: streak)
    }

    /// Whether the closed trade in columns 0...2 (realized_pnl, fees, funding) made money: net =
    /// realized - fees + funding > 0, with one Decimal operation fewer per trade. A closed
    /// position always has its realized P&L (closePosition writes it): none is an error.
    @inline(__always)
    static func isWin(_ c: StatementColumns) throws -> Bool {
        (try c.decimal(0, "realized_pnl")) + (try c.decimal(2, "funding")) > (try c.decimal(1, "fees"))
    }

    /// The closed-trade count and the losses since the last win: ``tradeHistory()``'s `closed`
    /// and `consecutiveLosses`, for reconcile's loss breaker, which runs every cron cycle. Only
    /// the newest trades back to the last win are decoded, walked newest first on the
    /// `positions_status_closed` index (v13). A damaged amount in an older trade
    /// is not seen here; the trade step reads the whole history before every entry and stops on it.
    public func lossStreak() throws -> (closed: Int, consecutiveLosses: Int) {
        try read { db in
            let stmt = try db.cachedStatement(sql: Self.lossStreakSQL)
            var closed = 0, streak = 0
            try Self.stepWhile(stmt) { h in
                let c = StatementColumns(h: h, table: "positions")
                closed = Int(try c.int64(3, "COUNT(*)"))
                if try Self.isWin(c) { return false }
                streak += 1
                return true
            }
            return (closed, streak)
        }
    }

    static let lossStreakSQL = """
        SELECT realized_pnl, fees, funding, (SELECT COUNT(*) FROM positions WHERE status = 'closed') FROM positions
        WHERE status = 'closed' ORDER BY closed_at_ms DESC, id DESC
        """

    /// The fees a closed position left out of its own (``UnvaluedFee``), still waiting to be valued.
    public func unvaluedFees(positionId: Int64) throws -> [UnvaluedFee] {
        let key = UnvaluedFee.key(positionId: positionId)
        guard let text = try value(forKey: key) else { return [] }
        return try UnvaluedFee.parse(text, key: key)
    }

    /// When gobot first held a position (not a failed entry), on the host clock; nil before any.
    public func firstEntryMs() throws -> Int64? {
        try read { db in try Int64.fetchOne(db.cachedStatement(sql: "SELECT MIN(opened_at_ms) FROM positions WHERE status != 'failed'")) }
    }

    public func entriesSince(_ ms: Int64) throws -> (count: Int, notional: Decimal) {
        try read { db in try Self.entriesSince(db, ms) }
    }

    static func entriesSince(_ db: Database, _ ms: Int64) throws -> (count: Int, notional: Decimal) {
        let amounts = try rows(db, "SELECT notional_usd FROM positions WHERE opened_at_ms >= ? AND status != 'failed'", [ms], table: "positions") {
            try $0.decimal(0, "notional_usd")
        }
        return (amounts.count, amounts.reduce(0, +))
    }

    /// What keeps scan away from symbols, in one statement: symbols with a live position, and
    /// symbols with an entry (not a failed one) opened after `cooldownAfterMs`.
    public func scanBlocks(cooldownAfterMs: Int64) throws -> (live: Set<String>, coolingDown: Set<String>) {
        try read { db in
            var live = Set<String>(), cooling = Set<String>()
            for (symbol, isLive, isCooling) in try Self.rows(db, Self.scanBlocksSQL, [cooldownAfterMs], table: "positions", { c in (try c.text(0, "symbol"), try c.int64(1, "status") != 0, try c.int64(2, "opened_at_ms") != 0) }) {
                if isLive { live.insert(symbol) }
                if isCooling { cooling.insert(symbol) }
            }
            return (live, cooling)
        }
    }

    /// One search per term on its index (v13, ``anyOf(_:count:)``); a symbol met twice is one symbol.
    static let scanBlocksSQL = """
        SELECT symbol, 1, opened_at_ms > ?1 FROM positions WHERE status = 'opening'
        UNION ALL SELECT symbol, 1, opened_at_ms > ?1 FROM positions WHERE status = 'open'
        UNION ALL SELECT symbol, status = 'opening' OR status = 'open', 1 FROM positions WHERE opened_at_ms > ?1 AND status != 'failed'
        """

    /// Everything the risk gate reads from the database, in one read: a step asks once per
    /// decision instead of once per limit, and a file database answers from one snapshot.
    public struct RiskInputs: Sendable {
        public var entriesToday: (count: Int, notional: Decimal)
        public var live: [PositionRow]
        public var allTime: LedgerTotals
        public var today: LedgerTotals
        public var week: LedgerTotals
        public var lastEntryOnSymbolMs: Int64?
        public var breakers: [BreakerState]
        public var halt: HaltState
    }

    /// - Parameters: `entriesFromMs` is the local start of the day (positions carry local times),
    ///   `dayFromMs`/`weekFromMs` the exchange-time boundaries of the ledger.
    public func riskInputs(symbol: String, entriesFromMs: Int64, dayFromMs: Int64, weekFromMs: Int64) throws -> RiskInputs {
        try read { db in
            let totals = try Self.ledgerTotals(db, from: [0, dayFromMs, weekFromMs])
            let p = try Self.positionInputs(db, symbol: symbol, entriesFromMs: entriesFromMs)
            return RiskInputs(entriesToday: p.entriesToday, live: p.live, allTime: totals[0], today: totals[1], week: totals[2],
                              lastEntryOnSymbolMs: p.lastEntryOnSymbolMs, breakers: try Self.allBreakers(db), halt: try Self.haltState(db))
        }
    }

    /// The limits that come from positions: today's entries, live positions, the symbol's last entry.
    public struct PositionInputs: Sendable {
        public var entriesToday: (count: Int, notional: Decimal)
        public var live: [PositionRow]
        public var lastEntryOnSymbolMs: Int64?
    }

    /// The positions part of ``riskInputs(symbol:entriesFromMs:dayFromMs:weekFromMs:)`` alone
    /// (analyze's check whether an answer could matter needs no ledger, breaker or halt flag).
    public func positionInputs(symbol: String, entriesFromMs: Int64) throws -> PositionInputs {
        try read { db in try Self.positionInputs(db, symbol: symbol, entriesFromMs: entriesFromMs) }
    }

    static func positionInputs(_ db: Database, symbol: String, entriesFromMs: Int64) throws -> PositionInputs {
        // One statement: the rows that are live, opened since `entriesFromMs`, or the symbol's
        // latest entry (failed entries never count). Each term is a search on its own index (v13),
        // so the read does not grow with the history; a row met by two terms is kept once, and
        // the rows are sorted here (``anyOf(_:count:)``).
        var seen = Set<Int64>()
        let positions = try rows(db, positionInputsSQL, [entriesFromMs, symbol], table: "positions", PositionRow.init)
            .filter { seen.insert($0.id).inserted }.sorted { $0.id < $1.id }
        var out = PositionInputs(entriesToday: (0, 0), live: [], lastEntryOnSymbolMs: nil)
        for p in positions {
            if p.status == "opening" || p.status == "open" { out.live.append(p) }
            if p.openedAtMs >= entriesFromMs { out.entriesToday.count += 1; out.entriesToday.notional += p.notionalUSD }
            if p.symbol == symbol { out.lastEntryOnSymbolMs = max(out.lastEntryOnSymbolMs ?? p.openedAtMs, p.openedAtMs) }
        }
        return out
    }

    static let positionInputsSQL = """
        SELECT \(PositionRow.columns) FROM positions WHERE status = 'opening'
        UNION ALL SELECT \(PositionRow.columns) FROM positions WHERE status = 'open'
        UNION ALL SELECT \(PositionRow.columns) FROM positions WHERE opened_at_ms >= ?1 AND status != 'failed'
        UNION ALL SELECT \(PositionRow.columns) FROM positions
            WHERE id = (SELECT id FROM positions WHERE symbol = ?2 AND status != 'failed' ORDER BY opened_at_ms DESC LIMIT 1)
        """
}
