import Foundation
import GRDB
import GRDBSQLite

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
            throw SQLError(
                message: error.message ?? "\(error.resultCode)",
                code: "\(error.resultCode)",
                sql: sql,
                kind: Self.kind(of: error)
            )
        }
    }

    /// The kind of a SQLite error.
    static func kind(of error: DatabaseError) -> SQLErrorKind {
        switch error.extendedResultCode {
        case .SQLITE_CONSTRAINT_UNIQUE, .SQLITE_CONSTRAINT_PRIMARYKEY: return .uniqueViolation
        default: break
        }
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED: return .lockNotAvailable
        default: return error.message?.hasPrefix("no such table") == true ? .undefinedTable : .other
        }
    }

    public func forEachRowOfUserStatement(_ sql: String, _ body: (SQLRow) throws -> Bool) throws -> [String] {
        let statement = try wrap(sql) { try db.makeStatement(sql: sql) }
        // SQLite counts ATTACH and DETACH as read-only (they change the connection, not the
        // file), but a query has no business opening other databases.
        let keyword = firstKeyword(sql)
        guard statement.isReadonly, keyword != "ATTACH", keyword != "DETACH" else {
            throw SQLError(message: "the statement writes", code: "SQLITE_READONLY", sql: sql, kind: .readOnlyViolation)
        }
        let columns = statement.columnNames
        let cursor = try wrap(sql) { try Row.fetchCursor(statement) }
        while let row = try wrap(sql, { try cursor.next() }) {
            guard try body(SQLRow(columns: columns, values: Array(row.databaseValues))) else { break }
        }
        return columns
    }

    /// SQLite lets one writer in at a time: the write transaction is the lock.
    public func lock(_ key: Int64) throws {}

    public func appendRows(
        _ table: String,
        columns: [String],
        count: Int,
        _ value: (_ row: Int, _ column: Int) -> StagedValue
    ) throws {
        let sql =
            "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES ("
            + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        let statement = try wrap(sql) { try db.makeStatement(sql: sql) }
        let raw = statement.sqliteStatement
        // Texts are copied by SQLite when bound (SQLITE_TRANSIENT).
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for row in 0..<count {
            for column in columns.indices {
                let index = Int32(column + 1)
                switch value(row, column) {
                case .integer(let number): sqlite3_bind_int64(raw, index, number)
                case .text(let text): sqlite3_bind_text(raw, index, text, -1, transient)
                }
            }
            let code = sqlite3_step(raw)
            sqlite3_reset(raw)
            guard code == SQLITE_DONE else {
                throw SQLError(
                    message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                    code: "\(code)",
                    sql: sql,
                    kind: code == SQLITE_CONSTRAINT ? .uniqueViolation : .other
                )
            }
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
        let statement = try wrap(sql) { try db.makeStatement(sql: sql) }
        try wrap(sql) { try statement.setArguments(self.arguments(arguments)) }
        // The values straight from the statement, into one array per row (a GRDB row's lazy
        // value sequence costs more than the rest of a key's judgement in `reclassify`).
        let raw = statement.sqliteStatement
        let count = Int(sqlite3_column_count(raw))
        let columns = (0..<count).map { String(cString: sqlite3_column_name(raw, Int32($0))) }
        let cursor = try wrap(sql) { try Row.fetchCursor(statement) }
        while try wrap(sql, { try cursor.next() }) != nil {
            var values: [DatabaseValue] = []
            values.reserveCapacity(count)
            for index in 0..<count { values.append(DatabaseValue(sqliteStatement: raw, index: Int32(index))) }
            try body(SQLRow(columns: columns, values: values))
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
