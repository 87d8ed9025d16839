import Foundation
import GobotCore
import GRDB
import GRDBSQLite

/// The current row of a stepped statement, read through SQLite's C API with the strictness of
/// the `Row` readers (RowDecodingError.swift): a value of the wrong type is a
/// ``RowDecodingError`` naming the table and column, never a default.
///
/// Why not `Row`: GRDB builds a dictionary of lowercased column names for every row cursor
/// (`fetchAll`, `fetchCursor`, `fetchOne`), and copies each row; on the small hot reads every cron
/// step makes (live positions, today's entries, the ledger, state values) that was a large share
/// of the step pipeline's cycle. Columns are read by position: every query using it selects its
/// columns by name, in the order its decoder reads them.
public struct StatementColumns {
    let h: OpaquePointer
    let table: String

    /// The column's value: each `sqlite3_column_*` call takes the statement's bookkeeping (and the
    /// API-exit check), so a column is fetched once and its type and value read from it. GRDB opens
    /// every connection NOMUTEX (multi-thread mode, one serial queue per connection), where a
    /// column's value needs no further protection.
    @inline(__always)
    static func value(_ h: OpaquePointer, _ i: Int32) -> OpaquePointer? { sqlite3_column_value(h, i) }

    private func type(_ i: Int32) -> Int32 { Self.value(h, i).map(sqlite3_value_type) ?? SQLITE_NULL }

    /// The stored value as text, for error messages.
    static func shown(_ v: OpaquePointer?) -> String {
        guard let v else { return "" }
        switch sqlite3_value_type(v) {
        case SQLITE_NULL: return ""
        case SQLITE_FLOAT: return String(sqlite3_value_double(v))
        default: return sqlite3_value_text(v).map { String(cString: $0) } ?? ""
        }
    }

    /// An INTEGER column; text or real in it (a damaged row) is an error, where SQLite would read 0.
    public func int64(_ i: Int32, _ column: String) throws -> Int64 {
        let v = Self.value(h, i)
        guard let v, sqlite3_value_type(v) == SQLITE_INTEGER else { throw RowDecodingError(table: table, column: column, value: Self.shown(v)) }
        return sqlite3_value_int64(v)
    }

    /// An INTEGER column that may be NULL.
    public func optionalInt64(_ i: Int32, _ column: String) throws -> Int64? {
        type(i) == SQLITE_NULL ? nil : try int64(i, column)
    }

    /// A REAL column (SQLite stores an integral REAL as an integer).
    public func double(_ i: Int32, _ column: String) throws -> Double {
        let v = Self.value(h, i)
        guard let v, case let t = sqlite3_value_type(v), t == SQLITE_FLOAT || t == SQLITE_INTEGER else {
            throw RowDecodingError(table: table, column: column, value: Self.shown(v))
        }
        return sqlite3_value_double(v)
    }

    /// A TEXT column that must hold a value.
    public func text(_ i: Int32, _ column: String) throws -> String {
        let v = Self.value(h, i)
        guard let v, sqlite3_value_type(v) == SQLITE_TEXT, let p = sqlite3_value_text(v) else {
            throw RowDecodingError(table: table, column: column, value: Self.shown(v))
        }
        return String(cString: p)
    }

    /// A TEXT column that may be NULL.
    public func optionalText(_ i: Int32, _ column: String) throws -> String? {
        type(i) == SQLITE_NULL ? nil : try text(i, column)
    }

    /// A decimal stored as text (exchange-style).
    public func decimal(_ i: Int32, _ column: String) throws -> Decimal {
        let s = try text(i, column)
        guard let d = Decimal(exchangeString: s) else { throw RowDecodingError(table: table, column: column, value: s) }
        return d
    }

    /// A decimal stored as text, or NULL.
    public func optionalDecimal(_ i: Int32, _ column: String) throws -> Decimal? {
        type(i) == SQLITE_NULL ? nil : try decimal(i, column)
    }

    public func enumValue<E: RawRepresentable>(_ i: Int32, _ column: String) throws -> E where E.RawValue == String {
        let s = try text(i, column)
        guard let e = E(rawValue: s) else { throw RowDecodingError(table: table, column: column, value: s) }
        return e
    }
}

extension GobotDatabase {
    /// Runs a cached statement with `arguments` and decodes each row with `row`.
    public static func rows<T>(_ db: Database, _ sql: String, _ arguments: StatementArguments = StatementArguments(), table: String,
                        _ row: (StatementColumns) throws -> T) throws -> [T] {
        let stmt = try db.cachedStatement(sql: sql)
        // Setting the arguments resets the statement: a busy one must be refused before.
        try notBusy(stmt)
        try stmt.setArguments(arguments)
        var out: [T] = []
        try step(stmt) { h in out.append(try row(StatementColumns(h: h, table: table))) }
        return out
    }

    /// Arguments for an `IN (…)` list. GRDB's initializer for a sequence of one concrete type maps
    /// it through a generic key path, which the runtime instantiates anew on every call.
    static func arguments(_ values: [String]) -> StatementArguments {
        StatementArguments(values.map { $0 as (any DatabaseValueConvertible)? })
    }
}
