import Foundation
import GRDB

/// One value of a `sql` result.
public enum SQLValue: Sendable, Equatable, Codable {
    /// NULL.
    case null
    /// An integer.
    case integer(Int64)
    /// A floating-point number.
    case real(Double)
    /// Text.
    case text(String)
    /// A blob (JSON: base64 text).
    case blob(Data)

    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let number): self = .integer(number)
        case .double(let number): self = .real(number)
        case .string(let text): self = .text(text)
        case .blob(let data): self = .blob(data)
        }
    }

    /// The value as table or CSV cell text (blobs as `x'…'` hex).
    public var text: String {
        switch self {
        case .null: ""
        case .integer(let number): String(number)
        case .real(let number): String(number)
        case .text(let text): text
        case .blob(let data): "x'" + data.map { String(format: "%02x", $0) }.joined() + "'"
        }
    }

    /// Encodes as the plain JSON value: `null`, a number, a string, or base64 text for a blob.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .integer(let number): try container.encode(number)
        case .real(let number):
            // JSON has no NaN or infinity.
            if number.isFinite { try container.encode(number) } else { try container.encodeNil() }
        case .text(let text): try container.encode(text)
        case .blob(let data): try container.encode(data.base64EncodedString())
        }
    }

    /// Decodes a plain JSON value.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let number = try? container.decode(Int64.self) {
            self = .integer(number)
        } else if let number = try? container.decode(Double.self) {
            self = .real(number)
        } else {
            self = .text(try container.decode(String.self))
        }
    }
}

/// The result of a `sql` statement.
public struct SQLResult: Sendable, Equatable {
    /// Column names, as the engine reports them (may repeat).
    public var columns: [String]
    /// Rows, each with one value per column.
    public var rows: [[SQLValue]]
    /// Whether the limit left rows out.
    public var truncated: Bool
}

/// Runs a user's statement on the store, opened read-only.
///
/// First, on both engines, the text must be one statement of the allowlist of ``ReadOnlySQL``
/// (a `SELECT`, `WITH … SELECT`, `VALUES` or `EXPLAIN` of those, without `INTO`, data-modifying
/// CTEs or calls that change state). Then on SQLite the connection is opened read-only
/// (`SQLITE_OPEN_READONLY`), and a statement that SQLite does not report as read-only is refused
/// before it runs (``SQLDatabase/forEachRowOfUserStatement(_:_:)``). On PostgreSQL, the statement runs in a
/// `READ ONLY` transaction (which refuses writes with SQLSTATE 25006) that is rolled back, never
/// committed: `EXPLAIN ANALYZE SELECT … INTO` created a table through a read-only transaction.
public enum SQLQuery {
    /// Runs a statement.
    ///
    /// - Parameters:
    ///   - sql: One SQL statement.
    ///   - store: The store, opened read-only.
    ///   - limit: The most rows to return; 0 means all.
    /// - Returns: Columns and rows.
    /// - Throws: ``QueryError`` when the statement is empty, writes, or fails.
    public static func run(_ sql: String, store: Store, limit: Int = 0) throws -> SQLResult {
        var rows: [[SQLValue]] = []
        let (columns, truncated) = try forEachRow(sql, store: store, limit: limit) { _, values in rows.append(values) }
        return SQLResult(columns: columns, rows: rows, truncated: truncated)
    }

    /// Runs a statement and hands each row to `body` as it is read (with the column names), so
    /// that no result is held whole.
    ///
    /// - Parameters:
    ///   - sql: One SQL statement.
    ///   - store: The store, opened read-only.
    ///   - limit: The most rows to hand over; 0 means all.
    ///   - body: Called with the column names and the values of each row.
    /// - Returns: The column names, and whether the limit left rows out.
    /// - Throws: ``QueryError`` when the statement is empty, writes, or fails.
    static func forEachRow(
        _ sql: String,
        store: Store,
        limit: Int,
        _ body: ([String], [SQLValue]) throws -> Void
    ) throws -> (columns: [String], truncated: Bool) {
        let trimmed = sql.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw QueryError.emptyStatement }
        guard !holdsMultipleStatements(trimmed) else { throw QueryError.multipleStatements }
        if let reason = ReadOnlySQL.refusal(trimmed, dialect: store.dialect) {
            throw QueryError.refused(statement: trimmed, reason: reason)
        }
        do {
            return try store.queryRolledBack { db in
                var count = 0
                var truncated = false
                let columns = try db.forEachRowOfUserStatement(trimmed) { row in
                    if limit > 0, count == limit {
                        truncated = true
                        return false
                    }
                    try body(row.columns, row.values.map(SQLValue.init))
                    count += 1
                    return true
                }
                return (columns, truncated)
            }
        } catch let error as QueryError {
            throw error
        } catch let error as DatabaseError where error.message?.hasPrefix("Multiple statements") == true {
            throw QueryError.multipleStatements
        } catch let error as DatabaseError {
            throw QueryError.sqlFailed(message: error.message ?? "\(error.resultCode)")
        } catch let error as SQLError {
            throw queryError(error, statement: trimmed)
        }
    }

    /// The user-facing error for an engine error.
    static func queryError(_ error: SQLError, statement: String) -> QueryError {
        // A read-only transaction refused a write ("cannot execute DELETE in a read-only
        // transaction"), or SQLite said the statement writes.
        if error.kind == .readOnlyViolation { return .notReadOnly(statement: statement) }
        if error.message.contains("cannot insert multiple commands into a prepared statement")
            || error.message.hasPrefix("Multiple statements")
        {
            return .multipleStatements
        }
        return .sqlFailed(message: primaryMessage(error.message))
    }

    /// The first line of an engine message without PostgreSQL's severity (`ERROR:  `).
    static func primaryMessage(_ message: String) -> String {
        var line = Substring(message.split(separator: "\n", omittingEmptySubsequences: true).first ?? "")
        for severity in ["ERROR:", "FATAL:"] where line.hasPrefix(severity) {
            line = line.dropFirst(severity.count).drop(while: \.isWhitespace)
        }
        return String(line)
    }
}

extension SQLResult {
    /// The result in an output format.
    ///
    /// `json` is an array of objects keyed by column name (a
    /// repeated name gets `_2`, `_3`, …); `ndjson` is one such object per line.
    ///
    /// - Parameter format: The format.
    /// - Returns: The text, ending in a newline.
    /// - Throws: Encoding errors.
    public func render(_ format: OutputFormat) throws -> String {
        let keys = Self.keys(columns)
        let objects = rows.map { row in
            Dictionary(zip(keys, row), uniquingKeysWith: { first, _ in first })
        }
        let footer = truncated ? "(first \(rows.count) rows shown; --limit 0 shows all)" : nil
        return try QueryRendering.list(objects, format: format, footer: footer) {
            TextTable(columns: columns, rows: rows.map { $0.map(\.text) })
        }
    }
}
