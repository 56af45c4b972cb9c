import Foundation
import GRDB

/// The SQL engines a store can live in.
public enum SQLDialect: String, Sendable {
    /// One SQLite file (the default).
    case sqlite
    /// A shared PostgreSQL database (fleet mode).
    case postgres
}

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
}

/// Why a statement failed, on either engine.
public struct SQLError: Error, CustomStringConvertible, LocalizedError {
    /// The engine's message.
    public var message: String
    /// PostgreSQL's SQLSTATE (`40P01` deadlock, `23505` unique violation…), or SQLite's result code.
    public var code: String
    /// The statement, for diagnostics.
    public var sql: String

    /// Creates an error.
    public init(message: String, code: String, sql: String) {
        self.message = message
        self.code = code
        self.sql = sql
    }

    /// The message and the code.
    public var description: String { "\(message) (\(code))" }

    /// The same as ``description``.
    public var errorDescription: String? { description }

    /// Whether retrying the whole transaction may succeed (deadlock, serialization failure).
    public var isTransient: Bool { code == "40P01" || code == "40001" }
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

/// A GRDB connection seen as an ``SQLDatabase``.
public final class SQLiteDatabase: SQLDatabase {
    /// The GRDB connection.
    public let db: Database

    /// Wraps a connection; valid only inside the GRDB block that provided it.
    public init(_ db: Database) {
        self.db = db
    }

    /// Always ``SQLDialect/sqlite``.
    public var dialect: SQLDialect { .sqlite }

    private func arguments(_ values: [any DatabaseValueConvertible]) -> StatementArguments {
        StatementArguments(values.map { $0.databaseValue })
    }

    private func wrap<T>(_ sql: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError {
            throw SQLError(message: error.message ?? "\(error.resultCode)", code: "\(error.resultCode)", sql: sql)
        }
    }

    public func execute(_ sql: String, _ arguments: [any DatabaseValueConvertible]) throws {
        try wrap(sql) {
            if arguments.isEmpty {
                try db.execute(sql: sql)  // may hold several statements
            } else {
                try db.cachedStatement(sql: sql).execute(arguments: self.arguments(arguments))
            }
        }
    }

    public func changes(_ sql: String, _ arguments: [any DatabaseValueConvertible]) throws -> Int {
        try wrap(sql) {
            try db.execute(sql: sql, arguments: self.arguments(arguments))
            return db.changesCount
        }
    }

    public func forEachRow(
        _ sql: String,
        _ arguments: [any DatabaseValueConvertible],
        _ body: (SQLRow) throws -> Void
    ) throws {
        let cursor = try wrap(sql) { try Row.fetchCursor(db, sql: sql, arguments: self.arguments(arguments)) }
        var columns: [String]?
        while let row = try wrap(sql, { try cursor.next() }) {
            if columns == nil { columns = Array(row.columnNames) }
            try body(SQLRow(columns: columns ?? [], values: Array(row.databaseValues)))
        }
    }
}
