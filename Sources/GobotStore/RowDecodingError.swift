import Foundation
import GobotCore
import GRDB

/// A stored value gobot cannot read. Money rows never fall back to a default: a side that does
/// not decode would put a stop on the wrong side, an amount read as 0 would loosen a loss limit.
public struct RowDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var table: String
    public var column: String
    public var value: String
    /// What to do when it is not "fix the row or restore a backup" (e.g. a measurement gobot takes again).
    public var remedy: String?

    public init(table: String, column: String, value: String, remedy: String? = nil) {
        self.table = table
        self.column = column
        self.value = value
        self.remedy = remedy
    }

    public var description: String {
        "state database: \(table).\(column) holds \(value.isEmpty ? "no value" : "'\(value)'"), which gobot cannot read; "
            + (remedy ?? "fix that row or restore the database from state/backups/ (README, \"Restoring the state database\")")
    }
}

extension Row {
    /// A decimal stored as text (exchange-style), or a typed error naming the column.
    public func decimal(_ column: String, table: String) throws -> Decimal {
        let text: String? = self[column]
        guard let text, let d = Decimal(exchangeString: text) else {
            throw RowDecodingError(table: table, column: column, value: text ?? "")
        }
        return d
    }

    /// Nil when the column is NULL; a typed error when it holds text that is not a decimal.
    public func optionalDecimal(_ column: String, table: String) throws -> Decimal? {
        guard let text: String = self[column] else { return nil }
        guard let d = Decimal(exchangeString: text) else { throw RowDecodingError(table: table, column: column, value: text) }
        return d
    }

    /// ``decimal(_:table:)`` by column index, for hot reads that select their columns by name.
    func decimal(at index: Int, column: String, table: String) throws -> Decimal {
        let text: String? = self[index]
        guard let text, let d = Decimal(exchangeString: text) else {
            throw RowDecodingError(table: table, column: column, value: text ?? "")
        }
        return d
    }

    /// An integer column by index, for hot reads: a value stored as text or real (a damaged row)
    /// is an error, where GRDB's fast path would read it as 0.
    func int64(at index: Int, column: String, table: String) throws -> Int64 {
        let value = self[index] as DatabaseValue
        switch value.storage {
        case .int64(let i): return i
        case .string(let text): throw RowDecodingError(table: table, column: column, value: text)
        default: throw RowDecodingError(table: table, column: column, value: value.isNull ? "" : value.description)
        }
    }

    /// An integer column that may be NULL (nil), by name; text or real in it is an error.
    public func optionalInt64(_ column: String, table: String) throws -> Int64? {
        try Self.optionalInt64(self[column] as DatabaseValue, column: column, table: table)
    }

    /// ``optionalInt64(_:table:)`` by column index.
    func optionalInt64(at index: Int, column: String, table: String) throws -> Int64? {
        try Self.optionalInt64(self[index] as DatabaseValue, column: column, table: table)
    }

    private static func optionalInt64(_ value: DatabaseValue, column: String, table: String) throws -> Int64? {
        switch value.storage {
        case .null: return nil
        case .int64(let i): return i
        case .string(let text): throw RowDecodingError(table: table, column: column, value: text)
        default: throw RowDecodingError(table: table, column: column, value: value.description)
        }
    }

    /// ``optionalDecimal(_:table:)`` by column index.
    func optionalDecimal(at index: Int, column: String, table: String) throws -> Decimal? {
        guard let text: String = self[index] else { return nil }
        guard let d = Decimal(exchangeString: text) else { throw RowDecodingError(table: table, column: column, value: text) }
        return d
    }

    /// ``enumValue(_:table:)`` by column index.
    func enumValue<E: RawRepresentable>(at index: Int, column: String, table: String) throws -> E where E.RawValue == String {
        let text: String? = self[index]
        guard let text, let e = E(rawValue: text) else { throw RowDecodingError(table: table, column: column, value: text ?? "") }
        return e
    }

    public func enumValue<E: RawRepresentable>(_ column: String, table: String) throws -> E where E.RawValue == String {
        let text: String? = self[column]
        guard let text, let e = E(rawValue: text) else { throw RowDecodingError(table: table, column: column, value: text ?? "") }
        return e
    }
}
