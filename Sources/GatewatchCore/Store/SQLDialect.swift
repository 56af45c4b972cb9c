/// The SQL engines a store can live in.
public enum SQLDialect: String, Sendable {
    /// One SQLite file (the default).
    case sqlite
    /// A shared PostgreSQL database (fleet mode).
    case postgres
}

/// SQL spellings that differ between the engines: the one place where their text lives.
extension SQLDialect {
    /// A query that returns a row when the store has a table named by its one argument (in the
    /// connection's schema, on PostgreSQL).
    var tableExistsSQL: String {
        switch self {
        case .sqlite: "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        case .postgres:
            "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?"
        }
    }

    /// The 1-based position of `needle` in `haystack`, 0 when absent, case-sensitive:
    /// `instr(haystack, needle)` on SQLite, `strpos(haystack, needle)` on PostgreSQL.
    func position(of needle: String, in haystack: String) -> String {
        switch self {
        case .sqlite: "instr(\(haystack), \(needle))"
        case .postgres: "strpos(\(haystack), \(needle))"
        }
    }

    /// The first words of the statements the `sql` command runs: `SELECT`, `WITH`, `VALUES`,
    /// `EXPLAIN`, and on PostgreSQL also `TABLE` and `SHOW`.
    var readingFirstWords: Set<String> {
        switch self {
        case .sqlite: Self.portableReadingFirstWords
        case .postgres: Self.portableReadingFirstWords.union(["TABLE", "SHOW"])
        }
    }

    /// The first words every engine reads.
    static let portableReadingFirstWords: Set<String> = ["SELECT", "WITH", "VALUES", "EXPLAIN"]

    /// Whether statements may start with `PRAGMA` (SQLite's, checked against a list that only reads).
    var hasPragmas: Bool { self == .sqlite }
}
