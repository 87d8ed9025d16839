import Foundation
import GobotCore
@testable import GobotStore
import GRDB
import Testing

/// The position reads every cron step makes (the gate's inputs, scan's blocks, the loss streak)
/// search indexes (migration v13) instead of scanning and sorting the history. Whatever the
/// history, each answers what a plain walk over every position answers.
@Suite struct PositionReadsTests {
    @Test(arguments: [1, 2, 3]) func eachReadAnswersWhatTheWholeHistoryAnswers(seed: UInt64) throws {
        var rng = SplitMix(state: seed)
        let db = try GobotDatabase.inMemory()
        let symbols = ["XRPUSDT", "BTCUSDT", "ETHUSDT", "SOLUSDT"]
        let day: Int64 = 86_400_000
        var t: Int64 = 1_700_000_000_000
        var rows: [StatementArguments] = []
        var liveSymbols = Set<String>()
        for _ in 0..<400 {
            t += rng.next() % 4 == 0 ? 0 : Int64.random(in: 1...(6 * 3_600_000), using: &rng)  // a quarter at the time of the one before
            let symbol = symbols.randomElement(using: &rng)!
            var status = ["closed", "closed", "closed", "failed", "open", "opening"].randomElement(using: &rng)!
            // One live position per symbol (a unique index): a second one is stored closed.
            if status == "open" || status == "opening" {
                if liveSymbols.contains(symbol) { status = "closed" } else { liveSymbols.insert(symbol) }
            }
            let ended = status == "closed" || status == "failed"
            rows.append([symbol, String(Int.random(in: 5...10, using: &rng)), status, t, ended ? t + Int64.random(in: 0...day, using: &rng) : nil,
                         status == "closed" ? ["-0.2", "0.4", "-0.1", "0"].randomElement(using: &rng)! : nil])
        }
        try db.write { [rows] db in
            for arguments in rows {
                try db.execute(sql: """
                    INSERT INTO positions (symbol, side, quantity, entry_price, stop_price, target_price, notional_usd, status,
                                           opened_at_ms, closed_at_ms, realized_pnl, fees, funding)
                    VALUES (?, 'long', '5', '2', '1.96', '2.08', ?, ?, ?, ?, ?, '0.01', '0')
                    """, arguments: arguments)
            }
        }
        let all = try db.positions()
        #expect(all.count == 400)
        let counted = all.filter { $0.status != "failed" }
        for _ in 0..<25 {
            let symbol = symbols.randomElement(using: &rng)!
            // Half the time the day starts exactly at an entry (which counts as today's).
            let from = rng.next() % 2 == 0 ? all.randomElement(using: &rng)!.openedAtMs : t - Int64.random(in: 0...(3 * day), using: &rng)
            let inputs = try db.positionInputs(symbol: symbol, entriesFromMs: from)
            let live = all.filter { $0.status == "open" || $0.status == "opening" }
            #expect(inputs.live == live)
            #expect(try db.livePositions() == live)
            let today = counted.filter { $0.openedAtMs >= from }
            #expect(inputs.entriesToday.count == today.count)
            #expect(inputs.entriesToday.notional == today.reduce(Decimal(0)) { $0 + $1.notionalUSD })
            #expect(inputs.lastEntryOnSymbolMs == counted.filter { $0.symbol == symbol }.map(\.openedAtMs).max())
            let blocks = try db.scanBlocks(cooldownAfterMs: from)
            #expect(blocks.live == Set(live.map(\.symbol)))
            #expect(blocks.coolingDown == Set(counted.filter { $0.openedAtMs > from }.map(\.symbol)))
        }
        // The streak: closed trades newest first by close time (then id), losses up to the first win.
        let closed = all.filter { $0.status == "closed" }.sorted { ($0.closedAtMs!, $0.id) > ($1.closedAtMs!, $1.id) }
        let streak = closed.prefix { $0.realizedPnl! + $0.funding <= $0.fees }.count
        let read = try db.lossStreak()
        #expect(read.closed == closed.count && read.consecutiveLosses == streak, "\(read) vs \(closed.count), \(streak)")
    }

    /// The reads every cron cycle makes search an index and build no temporary table: a full
    /// scan grows with the history, and SQLite builds a b-tree for an `IN (…)` list on an index
    /// or for an ORDER BY that no index gives, every time the statement runs.
    @Test func theReadsEveryCycleMakesSearchIndexesAndBuildNoTemporaryTable() throws {
        let db = try GobotDatabase.inMemory()
        let reads: [(name: String, sql: String, arguments: Int)] = [
            ("live positions", GobotDatabase.livePositionsSQL, 0),
            ("the gate's position inputs", GobotDatabase.positionInputsSQL, 2),
            ("scan's blocks", GobotDatabase.scanBlocksSQL, 1),
            ("the loss streak", GobotDatabase.lossStreakSQL, 0),
            ("orders to resolve", GobotDatabase.ordersToResolveSQL, 0),
            ("fresh candidates", GobotDatabase.freshCandidatesSQL, 0),
            ("fresh signals", GobotDatabase.freshSignalsSQL, 0),
            ("a candle frame", GobotDatabase.candlesSQL, 4),
            ("two state values", GobotDatabase.valuesSQL(2), 2),
            ("two client ids", GobotDatabase.recordedClientOrderIdsSQL(2), 2),
            ("three booked refs", GobotDatabase.bookedLedgerRefsSQL(3), 3),
        ]
        for read in reads {
            let arguments = StatementArguments(Array(repeating: nil as (any DatabaseValueConvertible)?, count: read.arguments))
            let (ops, plan) = try db.write { db in
                (try Row.fetchAll(db, sql: "EXPLAIN " + read.sql, arguments: arguments).map { $0["opcode"] as String },
                 try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + read.sql, arguments: arguments).map { $0["detail"] as String })
            }
            #expect(!ops.contains("OpenEphemeral") && !ops.contains("SorterOpen"), "\(read.name): \(plan)")
            #expect(!plan.contains { $0.hasPrefix("SCAN ") || $0.contains("TEMP B-TREE") }, "\(read.name): \(plan)")
            #expect(plan.contains { $0.hasPrefix("SEARCH ") }, "\(read.name): \(plan)")
        }
    }

    /// Reconcile asks which income records are booked every run: a few are one search each, many
    /// an IN list; both answer exactly the booked ones.
    @Test func bookedRefsAreFoundForFewAndManyRecords() throws {
        let db = try GobotDatabase.inMemory()
        for i in 0..<30 where i % 3 != 0 {
            try db.addLedger(atMs: Int64(i), symbol: "XRPUSDT", kind: "commission", amount: -1, positionId: nil, ref: "income-\(i)")
        }
        var rng = SplitMix(state: 7)
        for count in [1, 2, 3, 8, 9, 30, 503, 700] {
            let refs = (0..<count).map { _ in "income-\(Int.random(in: 0..<40, using: &rng))" }
            let booked = Set(refs.filter { Int($0.dropFirst(7))! < 30 && Int($0.dropFirst(7))! % 3 != 0 })
            #expect(try db.bookedLedgerRefs(refs) == booked, "\(count) refs")
        }
    }

    /// Live positions come back by id whatever their status (the read searches 'opening' first).
    @Test func livePositionsAreInIdOrder() throws {
        let db = try GobotDatabase.inMemory()
        try db.write { db in
            for (symbol, status) in [("XRPUSDT", "open"), ("BTCUSDT", "failed"), ("ETHUSDT", "opening"), ("SOLUSDT", "open")] {
                try db.execute(sql: """
                    INSERT INTO positions (symbol, side, quantity, entry_price, stop_price, target_price, notional_usd, status, opened_at_ms)
                    VALUES (?, 'long', '5', '2', '1.96', '2.08', '10', ?, 1)
                    """, arguments: [symbol, status])
            }
        }
        #expect(try db.livePositions().map(\.id) == [1, 3, 4])
        #expect(try db.positionInputs(symbol: "XRPUSDT", entriesFromMs: 0).live.map(\.id) == [1, 3, 4])
    }

    /// State values and recorded client ids are read one search per key, a hundred to a
    /// statement: every stored one is found once, absent ones are absent, duplicates are harmless.
    @Test(arguments: [0, 1, 100, 101, 250]) func valuesAndClientIdsAreFoundInEveryGroup(count: Int) throws {
        let db = try GobotDatabase.inMemory()
        for i in stride(from: 0, to: 300, by: 2) { try db.setValue("v\(i)", forKey: "k\(i)", atMs: 1) }
        try db.write { db in
            try db.execute(sql: "INSERT INTO positions (symbol, side, quantity, entry_price, stop_price, target_price, notional_usd, status, opened_at_ms) VALUES ('XRPUSDT', 'long', '5', '2', '1.96', '2.08', '10', 'open', 1)")
            for i in stride(from: 0, to: 300, by: 3) {
                try db.execute(sql: """
                    INSERT INTO orders (client_order_id, position_id, symbol, side, purpose, type, quantity, status, created_at_ms, updated_at_ms)
                    VALUES (?, 1, 'XRPUSDT', 'BUY', 'entry', 'MARKET', '5', 'filled', 1, 1)
                    """, arguments: ["gb-\(i)"])
            }
        }
        var rng = SplitMix(state: UInt64(count) + 1)
        let picks = (0..<count).map { _ in Int.random(in: 0..<320, using: &rng) }
        let values = try db.values(forKeys: picks.map { "k\($0)" })
        #expect(values == Dictionary(picks.filter { $0 < 300 && $0 % 2 == 0 }.map { ("k\($0)", "v\($0)") }, uniquingKeysWith: { a, _ in a }))
        let ids = try db.recordedClientOrderIds(picks.map { "gb-\($0)" })
        #expect(ids == Set(picks.filter { $0 < 300 && $0 % 3 == 0 }.map { "gb-\($0)" }))
    }

    /// Fresh candidates come best first, and among equal scores oldest first by creation time
    /// (then id), as the ORDER BY on the status index gave: analyze's budget takes the first.
    @Test func freshCandidatesTiedOnScoreComeOldestFirst() throws {
        let db = try GobotDatabase.inMemory()
        // Created out of id order (a host clock stepped back between scans), two scores tied.
        for (symbol, at, score) in [("XRPUSDT", 5, 1.0), ("BTCUSDT", 3, 2.0), ("ETHUSDT", 9, 1.0), ("SOLUSDT", 1, 1.0), ("BNBUSDT", 7, 0.5)] {
            try db.addCandidate(symbol: symbol, atMs: Int64(at), lastClose: 2, score: score)
        }
        #expect(try db.freshCandidates(nowMs: 10, maxAgeMs: 100).map(\.symbol) == ["BTCUSDT", "SOLUSDT", "XRPUSDT", "ETHUSDT", "BNBUSDT"])
    }

    /// Every connection of a state file cuts its WAL back past 64 MiB at a reset: a migration's
    /// table copy does not keep the file at its size when the open that migrated could not.
    @Test func theStateFileKeepsItsWALWithinTheJournalSizeLimit() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gobot-wal-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = try GobotDatabase.open(path: dir.appendingPathComponent("gobot.sqlite").path)
        #expect(try db.read { try Int.fetchOne($0, sql: "PRAGMA journal_size_limit") } == 67_108_864)
        #expect(try db.write { try Int.fetchOne($0, sql: "PRAGMA journal_size_limit") } == 67_108_864)
    }
}
