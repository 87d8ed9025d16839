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

    /// An integer column that may be NULL (nil), by name; text or real in it is an error.
    public func optionalInt64(_ column: String, table: String) throws -> Int64? {
        let value = self[column] as DatabaseValue
        switch value.storage {
        case .null: return nil
        case .int64(let i): return i
        case .string(let text): throw RowDecodingError(table: table, column: column, value: text)
        default: throw RowDecodingError(table: table, column: column, value: value.description)
        }
    }

    public func enumValue<E: RawRepresentable>(_ column: String, table: String) throws -> E where E.RawValue == String {
        let text: String? = self[column]
        guard let text, let e = E(rawValue: text) else { throw RowDecodingError(table: table, column: column, value: text ?? "") }
        return e
    }
}
