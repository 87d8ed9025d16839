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

    private func type(_ i: Int32) -> Int32 { sqlite3_column_type(h, i) }

    /// The stored value as text, for error messages.
    private func shown(_ i: Int32) -> String {
        switch type(i) {
        case SQLITE_NULL: return ""
        case SQLITE_FLOAT: return String(sqlite3_column_double(h, i))
        default: return sqlite3_column_text(h, i).map { String(cString: $0) } ?? ""
        }
    }

    /// An INTEGER column; text or real in it (a damaged row) is an error, where SQLite would read 0.
    public func int64(_ i: Int32, _ column: String) throws -> Int64 {
        guard type(i) == SQLITE_INTEGER else { throw RowDecodingError(table: table, column: column, value: shown(i)) }
        return sqlite3_column_int64(h, i)
    }

    /// An INTEGER column that may be NULL.
    public func optionalInt64(_ i: Int32, _ column: String) throws -> Int64? {
        type(i) == SQLITE_NULL ? nil : try int64(i, column)
    }

    /// A REAL column (SQLite stores an integral REAL as an integer).
    public func double(_ i: Int32, _ column: String) throws -> Double {
        let t = type(i)
        guard t == SQLITE_FLOAT || t == SQLITE_INTEGER else { throw RowDecodingError(table: table, column: column, value: shown(i)) }
        return sqlite3_column_double(h, i)
    }

    /// A TEXT column that must hold a value.
    public func text(_ i: Int32, _ column: String) throws -> String {
        guard type(i) == SQLITE_TEXT, let p = sqlite3_column_text(h, i) else { throw RowDecodingError(table: table, column: column, value: shown(i)) }
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
