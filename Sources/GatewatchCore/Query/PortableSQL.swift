import GRDB

/// SQL spellings the read paths need that differ between SQLite and PostgreSQL, beyond those of
/// ``SQLDatabase`` (`inTextList`, `greatest`, `least`).
enum PortableSQL {
    /// Whether the store has a table of this name.
    ///
    /// - Parameters:
    ///   - db: The connection.
    ///   - name: The table name, as created (lower case).
    /// - Returns: `true` when the table exists (in the connection's schema, on PostgreSQL).
    /// - Throws: ``SQLError``.
    static func hasTable(_ db: any SQLDatabase, _ name: String) throws -> Bool {
        try db.row(db.dialect.tableExistsSQL, [name]) != nil
    }

    /// Whether a table holds any row: `SELECT 1 … LIMIT 1` rather than `EXISTS`, which is an
    /// integer on SQLite and a boolean on PostgreSQL.
    static func hasRows(_ db: any SQLDatabase, table: String) throws -> Bool {
        try db.row("SELECT 1 FROM \(table) LIMIT 1") != nil
    }

    /// The 1-based position of `needle` in `haystack`, 0 when absent, case-sensitive (see
    /// ``SQLDialect/position(of:in:)``).
    static func position(_ db: any SQLDatabase, of needle: String, in haystack: String) -> String {
        db.dialect.position(of: needle, in: haystack)
    }
}

extension SQLRow {
    /// The value of column `name` as `T`, or `nil` when it is NULL, does not convert, or there is
    /// no such column: the named twin of `optional(_:at:)`, for places where `row["name"]` would
    /// be ambiguous between its optional and non-optional forms.
    func optional<T: DatabaseValueConvertible>(_ type: T.Type = T.self, named name: String) -> T? {
        guard let index = columns.firstIndex(of: name) else { return nil }
        return optional(T.self, at: index)
    }
}
