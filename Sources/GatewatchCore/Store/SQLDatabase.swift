import Foundation
import GRDB

/// One connection to the store, whichever engine holds it: what queries and writers need.
///
/// Statements use `?` placeholders on both engines (the PostgreSQL connection numbers them), and
/// the portable subset of SQL both engines read the same way. Where the engines differ, the
/// caller asks ``dialect`` (see ``SQLDatabase/jsonTextList(_:)`` and friends).
public protocol SQLDatabase: AnyObject {
    /// The engine behind the connection.
    var dialect: SQLDialect { get }

    /// Runs a statement that returns no rows.
    ///
    /// - Parameters:
    ///   - sql: One statement with `?` placeholders.
    ///   - arguments: One value per placeholder.
    /// - Throws: ``SQLError``.
    func execute(_ sql: String, _ arguments: [any DatabaseValueConvertible]) throws

    /// Runs an `INSERT`, `UPDATE` or `DELETE` and returns how many rows it changed.
    ///
    /// - Parameters:
    ///   - sql: One statement with `?` placeholders.
    ///   - arguments: One value per placeholder.
    /// - Returns: The number of rows changed.
    /// - Throws: ``SQLError``.
    func changes(_ sql: String, _ arguments: [any DatabaseValueConvertible]) throws -> Int

    /// Runs a query and hands each row to `body` as it arrives.
    ///
    /// - Parameters:
    ///   - sql: One statement with `?` placeholders.
    ///   - arguments: One value per placeholder.
    ///   - body: Called once per row; the row is valid only during the call on SQLite.
    /// - Throws: ``SQLError``, or what `body` throws.
    func forEachRow(_ sql: String, _ arguments: [any DatabaseValueConvertible], _ body: (SQLRow) throws -> Void) throws

    /// Runs one statement a user typed (`sql`), read-only as far as the engine can tell, and hands
    /// each row to `body` until it returns `false`.
    ///
    /// On SQLite the statement is compiled first and refused unless SQLite reports it read-only
    /// (nor `ATTACH` or `DETACH`); on PostgreSQL the read-only transaction refuses writes.
    ///
    /// - Parameters:
    ///   - sql: One statement, already checked by the text allowlist.
    ///   - body: Called once per row; returns whether to go on.
    /// - Returns: The statement's column names (also when it returned no row, where the engine
    ///   says them).
    /// - Throws: ``SQLError`` (of kind ``SQLErrorKind/readOnlyViolation`` for a statement that
    ///   writes), or what `body` throws.
    func forEachRowOfUserStatement(_ sql: String, _ body: (SQLRow) throws -> Bool) throws -> [String]

    /// Holds `key` until the current transaction ends: processes that lock the same key in their
    /// write transactions take turns. A no-op where write transactions already take turns
    /// (SQLite lets one writer in at a time).
    ///
    /// - Parameter key: The key, the same number in every process.
    /// - Throws: ``SQLError``.
    func lock(_ key: Int64) throws

    /// Appends `count` rows to `table` (a staging table), each value asked of `value`: one
    /// prepared statement stepped per row on SQLite, `COPY` on PostgreSQL, with no per-value
    /// boxing (what `reclassify` stages its changed keys with).
    ///
    /// - Parameters:
    ///   - table: The table.
    ///   - columns: Its columns to fill, in order.
    ///   - count: Rows.
    ///   - value: The value of a row's column, by row and column index.
    /// - Throws: ``SQLError``.
    func appendRows(
        _ table: String,
        columns: [String],
        count: Int,
        _ value: (_ row: Int, _ column: Int) -> StagedValue
    ) throws
}

/// A value ``SQLDatabase/appendRows(_:columns:count:_:)`` writes.
public enum StagedValue: Sendable {
    case integer(Int64)
    case text(String)
}

/// Why a statement failed, on either engine.
public struct SQLError: Error, CustomStringConvertible, LocalizedError {
    /// The engine's message.
    public var message: String
    /// PostgreSQL's SQLSTATE (`40P01` deadlock, `23505` unique violation…), or SQLite's result code.
    public var code: String
    /// The statement, for diagnostics.
    public var sql: String
    /// What kind of failure it is, on either engine: what callers test instead of ``code``.
    public var kind: SQLErrorKind

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - message: The engine's message.
    ///   - code: PostgreSQL's SQLSTATE or SQLite's result code.
    ///   - sql: The statement.
    ///   - kind: The kind; by default read from `code` as a SQLSTATE.
    public init(message: String, code: String, sql: String, kind: SQLErrorKind? = nil) {
        self.message = message
        self.code = code
        self.sql = sql
        self.kind = kind ?? SQLErrorKind(sqlState: code)
    }

    /// The message and the code.
    public var description: String { "\(message) (\(code))" }

    /// The same as ``description``.
    public var errorDescription: String? { description }

    /// Whether retrying the whole transaction may succeed (deadlock, serialization failure).
    public var isTransient: Bool { kind == .deadlock || kind == .serializationFailure }
}

/// What kind of failure an ``SQLError`` is, on either engine.
public enum SQLErrorKind: Sendable, Equatable {
    /// A unique or primary-key constraint was violated (SQLSTATE 23505).
    case uniqueViolation
    /// A lock could not be taken (55P03; SQLite busy or locked).
    case lockNotAvailable
    /// The table does not exist (42P01; SQLite "no such table").
    case undefinedTable
    /// The table already exists (42P07).
    case duplicateTable
    /// A statement that writes met a read-only transaction or connection (25006).
    case readOnlyViolation
    /// A deadlock was detected (40P01): retrying the transaction may succeed.
    case deadlock
    /// A serializable transaction could not be serialized (40001): retrying may succeed.
    case serializationFailure
    /// Anything else.
    case other

    /// The kind of a PostgreSQL SQLSTATE.
    ///
    /// - Parameter sqlState: The five-character code.
    public init(sqlState: String) {
        self =
            switch sqlState {
            case "23505": .uniqueViolation
            case "55P03": .lockNotAvailable
            case "42P01": .undefinedTable
            case "42P07": .duplicateTable
            case "25006": .readOnlyViolation
            case "40P01": .deadlock
            case "40001": .serializationFailure
            default: .other
            }
    }
}

/// One result row: values by position or by column name, decoded like GRDB's `Row`.
public struct SQLRow {
    /// The column names, shared by every row of a result.
    public let columns: [String]
    /// The values, one per column.
    public let values: [DatabaseValue]

    /// Creates a row.
    public init(columns: [String], values: [DatabaseValue]) {
        self.columns = columns
        self.values = values
    }

    /// The number of columns.
    public var count: Int { values.count }

    /// The raw value at a position.
    public func databaseValue(at index: Int) -> DatabaseValue { values[index] }

    /// The value at `index`, which must not be NULL and must convert to `T`.
    @_disfavoredOverload
    public subscript<T: DatabaseValueConvertible>(_ index: Int) -> T {
        guard let value = T.fromDatabaseValue(values[index]) else {
            fatalError("column \(index) (\(columns[index])) holds \(values[index]), not a \(T.self)")
        }
        return value
    }

    /// The value at `index`, or `nil` when it is NULL or does not convert to `T`.
    public subscript<T: DatabaseValueConvertible>(_ index: Int) -> T? {
        T.fromDatabaseValue(values[index])
    }

    /// The value of column `name`, which must not be NULL and must convert to `T`.
    @_disfavoredOverload
    public subscript<T: DatabaseValueConvertible>(_ name: String) -> T {
        guard let index = columns.firstIndex(of: name) else { fatalError("no column \(name) in \(columns)") }
        return self[index]
    }

    /// The value of column `name`, or `nil` when it is NULL or does not convert to `T`.
    public subscript<T: DatabaseValueConvertible>(_ name: String) -> T? {
        guard let index = columns.firstIndex(of: name) else { return nil }
        return optional(T.self, at: index)
    }

    /// The value at `index` as `T`, or `nil` when it is NULL or does not convert.
    public func optional<T: DatabaseValueConvertible>(_ type: T.Type = T.self, at index: Int) -> T? {
        T.fromDatabaseValue(values[index])
    }

    /// Whether the value at `index` is NULL.
    public func isNull(_ index: Int) -> Bool { values[index].isNull }
}

extension SQLDatabase {
    /// All rows of a query.
    public func rows(_ sql: String, _ arguments: [any DatabaseValueConvertible] = []) throws -> [SQLRow] {
        var result: [SQLRow] = []
        try forEachRow(sql, arguments) { result.append($0) }
        return result
    }

    /// The first row of a query, if any.
    public func row(_ sql: String, _ arguments: [any DatabaseValueConvertible] = []) throws -> SQLRow? {
        var result: SQLRow?
        try forEachRow(sql, arguments) { row in
            if result == nil { result = row }
        }
        return result
    }

    /// The first column of the first row, or `nil` when there is no row or it is NULL.
    public func value<T: DatabaseValueConvertible>(
        _ type: T.Type = T.self,
        _ sql: String,
        _ arguments: [any DatabaseValueConvertible] = []
    ) throws -> T? {
        guard let row = try row(sql, arguments) else { return nil }
        return row.optional(T.self, at: 0)
    }

    /// The first column of every row, NULLs left out.
    public func values<T: DatabaseValueConvertible>(
        _ type: T.Type = T.self,
        _ sql: String,
        _ arguments: [any DatabaseValueConvertible] = []
    ) throws -> [T] {
        var result: [T] = []
        try forEachRow(sql, arguments) { row in
            if let value = row.optional(T.self, at: 0) { result.append(value) }
        }
        return result
    }

    /// A condition that `column` is one of `texts`, with its one argument: `json_each` on SQLite,
    /// `json_array_elements_text` on PostgreSQL.
    ///
    /// - Parameters:
    ///   - column: The column (or expression) to test.
    ///   - texts: The allowed values.
    /// - Returns: The clause and its argument.
    /// - Throws: An encoding error (not expected for strings).
    public func inTextList(_ column: String, _ texts: [String]) throws -> (clause: String, argument: String) {
        let json = try JSONOutput.encode(texts)
        switch dialect {
        case .sqlite: return ("\(column) IN (SELECT value FROM json_each(?))", json)
        case .postgres: return ("\(column) IN (SELECT json_array_elements_text(CAST(? AS json)))", json)
        }
    }

    /// The larger of two expressions: `max(a, b)` on SQLite, `GREATEST(a, b)` on PostgreSQL.
    public func greatest(_ lhs: String, _ rhs: String) -> String {
        dialect == .sqlite ? "max(\(lhs), \(rhs))" : "GREATEST(\(lhs), \(rhs))"
    }

    /// The smaller of two expressions: `min(a, b)` on SQLite, `LEAST(a, b)` on PostgreSQL.
    public func least(_ lhs: String, _ rhs: String) -> String {
        dialect == .sqlite ? "min(\(lhs), \(rhs))" : "LEAST(\(lhs), \(rhs))"
    }
}
