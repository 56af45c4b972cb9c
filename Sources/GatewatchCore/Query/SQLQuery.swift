import Foundation
import GRDB

/// One SQLite value of a `sql` result.
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
    /// Column names, as SQLite reports them (may repeat).
    public var columns: [String]
    /// Rows, each with one value per column.
    public var rows: [[SQLValue]]
    /// Whether the limit left rows out.
    public var truncated: Bool
}

/// Runs a user's statement on the store, opened read-only.
///
/// Two guards: the connection is opened read-only (`Configuration.readonly`, SQLite
/// `SQLITE_OPEN_READONLY`), and a statement that SQLite does not report as read-only
/// (`sqlite3_stmt_readonly`) is refused before it runs. One statement per call.
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
        let trimmed = sql.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw QueryError.emptyStatement }
        do {
            return try store.read { db in
                let statement = try db.makeStatement(sql: trimmed)
                // SQLite counts ATTACH and DETACH as read-only (they change the connection, not the
                // file), but a query has no business opening other databases.
                let keyword = firstKeyword(trimmed)
                guard statement.isReadonly, keyword != "ATTACH", keyword != "DETACH" else {
                    throw QueryError.notReadOnly(statement: trimmed)
                }
                let columns = statement.columnNames
                var rows: [[SQLValue]] = []
                var truncated = false
                let cursor = try Row.fetchCursor(statement)
                while let row = try cursor.next() {
                    if limit > 0, rows.count == limit {
                        truncated = true
                        break
                    }
                    rows.append(row.databaseValues.map(SQLValue.init))
                }
                return SQLResult(columns: columns, rows: rows, truncated: truncated)
            }
        } catch let error as QueryError {
            throw error
        } catch let error as DatabaseError where error.message?.hasPrefix("Multiple statements") == true {
            throw QueryError.multipleStatements
        } catch let error as DatabaseError {
            throw QueryError.sqlFailed(message: error.message ?? "\(error.resultCode)")
        }
    }
}

/// The first keyword of a statement, upper-cased, after whitespace and comments.
func firstKeyword(_ sql: String) -> String {
    var rest = Substring(sql)
    while true {
        rest = rest.drop(while: \.isWhitespace)
        if rest.hasPrefix("--") {
            rest = rest.drop(while: { $0 != "\n" })
        } else if rest.hasPrefix("/*") {
            guard let end = rest.range(of: "*/") else { return "" }
            rest = rest[end.upperBound...]
        } else {
            break
        }
    }
    return rest.prefix(while: { $0.isLetter }).uppercased()
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
        var keys: [String] = []
        var seen: [String: Int] = [:]
        for column in columns {
            let count = (seen[column] ?? 0) + 1
            seen[column] = count
            keys.append(count == 1 ? column : "\(column)_\(count)")
        }
        let objects = rows.map { row in
            Dictionary(zip(keys, row), uniquingKeysWith: { first, _ in first })
        }
        let footer = truncated ? "(first \(rows.count) rows shown; --limit 0 shows all)" : nil
        return try QueryRendering.list(objects, format: format, footer: footer) {
            TextTable(columns: columns, rows: rows.map { $0.map(\.text) })
        }
    }
}
