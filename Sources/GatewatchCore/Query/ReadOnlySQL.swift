/// The statements the `sql` command runs: a positive allowlist, checked on the SQL text before
/// the engine sees it, on both engines.
///
/// A statement is run only when it is one statement that starts with `SELECT`, `WITH`, `VALUES`
/// or `EXPLAIN` (PostgreSQL also `TABLE` and `SHOW`; SQLite also a `PRAGMA` that only reads),
/// and holds no word that writes or changes the session anywhere in it: `INTO` (`SELECT … INTO`,
/// also under `EXPLAIN ANALYZE`), `INSERT`/`UPDATE`/`DELETE`/`MERGE` (data-modifying CTEs), `COPY`,
/// `CALL`, `DO`, `SET`, DDL, transaction control, `ATTACH`, `VACUUM`…; nor a call of a function
/// that changes state outside a read-only transaction's reach (`set_config`, `nextval`, `setval`,
/// large objects `lo_*`, `dblink*`, `query_to_xml`, `ts_stat` and kin that run SQL text, `load_extension`,
/// and every `pg_*` function but a list of read-only ones: `pg_terminate_backend`,
/// `pg_advisory_lock`, `pg_read_file`…). Words inside strings, comments and dollar quotes do not
/// count; quoted identifiers do (`"set_config"(…)` is refused) and Unicode-escaped ones (`U&"…"`)
/// are refused outright.
///
/// This is on top of the engine's read-only mode (SQLite: `SQLITE_OPEN_READONLY` and its
/// statement read-only check; PostgreSQL: a `READ ONLY` transaction that is rolled back).
enum ReadOnlySQL {
    /// A token of SQL text: a word (an unquoted name or keyword, upper-cased; a quoted identifier,
    /// as written) or one punctuation byte.
    enum Token: Equatable {
        case word(String, quoted: Bool)
        case symbol(UInt8)
        /// A string or dollar-quoted literal.
        case literal
        /// `U&"…"` or `U&'…'`: an identifier or string whose escapes could spell anything.
        case unicodeEscaped
    }

    /// Words that write, change the session or end the transaction, anywhere in a statement.
    static let writingWords: Set<String> = [
        "INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "INTO", "COPY", "CALL", "DO", "SET", "RESET", "CREATE",
        "DROP", "ALTER", "TRUNCATE", "GRANT", "REVOKE", "VACUUM", "REINDEX", "CLUSTER", "REFRESH", "ATTACH",
        "DETACH", "LOCK", "NOTIFY", "LISTEN", "UNLISTEN", "PREPARE", "EXECUTE", "DEALLOCATE", "DISCARD", "LOAD",
        "COMMENT", "IMPORT", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "CHECKPOINT", "SECURITY",
    ]

    /// Functions that change state a read-only transaction does not protect, or run SQL text.
    static let writingFunctions: Set<String> = [
        "set_config", "nextval", "setval", "loread", "lowrite", "load_extension", "fts3_tokenizer",
        "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema", "cursor_to_xml", "cursor_to_xmlschema",
        "txid_current", "writefile",
        // ts_stat and ts_rewrite(tsquery, text) run SQL text, as query_to_xml does: the calls in that
        // text are never seen here (pg_terminate_backend ended a bystander's connection through it).
        "ts_stat", "ts_rewrite",
        // Index maintenance that is not undone by the rollback.
        "brin_summarize_new_values", "brin_summarize_range", "brin_desummarize_range", "gin_clean_pending_list",
    ]
    static let writingFunctionPrefixes = ["lo_", "dblink", "pg_"]

    /// `pg_*` functions that only read.
    static let readingPgFunctions: Set<String> = [
        "pg_typeof", "pg_column_size", "pg_size_pretty", "pg_size_bytes", "pg_relation_size",
        "pg_total_relation_size", "pg_table_size", "pg_indexes_size", "pg_database_size", "pg_get_viewdef",
        "pg_get_indexdef", "pg_get_constraintdef", "pg_get_expr", "pg_get_serial_sequence", "pg_backend_pid",
        "pg_postmaster_start_time", "pg_table_is_visible", "pg_get_userbyid", "pg_encoding_to_char",
        "pg_client_encoding", "pg_partition_tree", "pg_partition_root", "pg_partition_ancestors",
        "pg_is_in_recovery",
    ]

    /// SQLite pragmas that only read and take an argument: `PRAGMA table_info(hourly)`.
    static let readingPragmasWithArgument: Set<String> = [
        "TABLE_INFO", "TABLE_XINFO", "TABLE_LIST", "INDEX_LIST", "INDEX_INFO", "INDEX_XINFO", "FOREIGN_KEY_LIST",
        "FOREIGN_KEY_CHECK", "INTEGRITY_CHECK", "QUICK_CHECK",
    ]
    /// SQLite pragmas read without an argument (with one, or `=`, most of them are set).
    static let readingPragmas: Set<String> = [
        "USER_VERSION", "APPLICATION_ID", "SCHEMA_VERSION", "DATA_VERSION", "PAGE_COUNT", "PAGE_SIZE",
        "FREELIST_COUNT", "ENCODING", "JOURNAL_MODE", "DATABASE_LIST", "COLLATION_LIST", "FUNCTION_LIST",
        "MODULE_LIST", "PRAGMA_LIST", "COMPILE_OPTIONS",
    ]

    /// Why a statement is refused, or `nil` when it may run.
    ///
    /// - Parameters:
    ///   - sql: One statement (``holdsMultipleStatements(_:)`` is checked separately).
    ///   - dialect: The engine.
    /// - Returns: The reason, for the error message.
    static func refusal(_ sql: String, dialect: SQLDialect) -> String? {
        let tokens = tokenize(sql).filter { $0 != .symbol(UInt8(ascii: ";")) }
        guard case .word(let first, quoted: false) = tokens.first else { return "it does not start with a keyword" }
        if first == "PRAGMA", dialect.hasPragmas { return pragmaRefusal(tokens) }
        guard dialect.readingFirstWords.contains(first) else {
            return "only SELECT, WITH, VALUES and EXPLAIN statements are run, not \(first)"
        }
        for (index, token) in tokens.enumerated() {
            switch token {
            case .unicodeEscaped:
                return "Unicode-escaped names and strings (U&) are not accepted"
            case .symbol, .literal:
                continue
            case .word(let word, let quoted):
                if !quoted, writingWords.contains(word) { return "it contains \(word)" }
                let name = word.lowercased()
                let called = index + 1 < tokens.count && tokens[index + 1] == .symbol(UInt8(ascii: "("))
                if writingFunctions.contains(name)
                    || (called && writingFunctionPrefixes.contains { name.hasPrefix($0) }
                        && !readingPgFunctions.contains(name))
                {
                    return "it calls \(name), which can change the database or the server"
                }
            }
        }
        return nil
    }

    private static func pragmaRefusal(_ tokens: [Token]) -> String? {
        // PRAGMA [schema.]name [(argument)]
        var rest = tokens.dropFirst()
        if rest.count >= 2, rest.dropFirst().first == .symbol(UInt8(ascii: ".")) { rest = rest.dropFirst(2) }
        guard case .word(let name, quoted: false) = rest.first else { return "it names no pragma" }
        let arguments = rest.dropFirst()
        if arguments.contains(.symbol(UInt8(ascii: "="))) { return "it sets PRAGMA \(name)" }
        if arguments.isEmpty, readingPragmas.contains(name) || readingPragmasWithArgument.contains(name) {
            return nil
        }
        if arguments.first == .symbol(UInt8(ascii: "(")), readingPragmasWithArgument.contains(name) { return nil }
        return "PRAGMA \(name) is not one of the pragmas that only read"
    }

    /// The tokens of SQL text, without whitespace, comments and string literals.
    ///
    /// Strings: `'…'` (also `E'…'` with backslash escapes), PostgreSQL's `$tag$…$tag$`.
    /// Identifiers: `"…"` and `` `…` ``.
    static func tokenize(_ sql: String) -> [Token] {
        let bytes = Array(sql.utf8)
        var tokens: [Token] = []
        var index = 0
        func isWordByte(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: "_") || byte >= 0x80
                || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "$")
        }
        func skipQuoted(from start: Int, closing: UInt8, backslashEscapes: Bool = false) -> Int {
            var position = start + 1
            while position < bytes.count {
                if backslashEscapes, bytes[position] == UInt8(ascii: "\\") {
                    position += 2
                    continue
                }
                if bytes[position] == closing {
                    // A doubled quote is one quote inside.
                    if position + 1 < bytes.count, bytes[position + 1] == closing {
                        position += 2
                        continue
                    }
                    return position + 1
                }
                position += 1
            }
            return bytes.count
        }
        while index < bytes.count {
            let byte = bytes[index]
            let next: UInt8? = index + 1 < bytes.count ? bytes[index + 1] : nil
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), 0x0B, 0x0C:
                index += 1
            case UInt8(ascii: "-") where next == UInt8(ascii: "-"):
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
            case UInt8(ascii: "/") where next == UInt8(ascii: "*"):
                // PostgreSQL nests block comments.
                var depth = 0
                while index < bytes.count {
                    if bytes[index] == UInt8(ascii: "/"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "*")
                    {
                        depth += 1
                        index += 2
                    } else if bytes[index] == UInt8(ascii: "*"), index + 1 < bytes.count,
                        bytes[index + 1] == UInt8(ascii: "/")
                    {
                        depth -= 1
                        index += 2
                        if depth == 0 { break }
                    } else {
                        index += 1
                    }
                }
            case UInt8(ascii: "'"):
                index = skipQuoted(from: index, closing: byte)
                tokens.append(.literal)
            case UInt8(ascii: "\""), UInt8(ascii: "`"):
                // (`[…]`, SQLite's third identifier quote, is PostgreSQL's subscript: its inside is
                // tokenized, so that no call can hide in it.)
                let closing = byte
                let end = skipQuoted(from: index, closing: closing)
                let inner = bytes[(index + 1)..<max(index + 1, end - 1)]
                let doubled = [closing, closing]
                var name = [UInt8]()
                var position = inner.startIndex
                while position < inner.endIndex {
                    name.append(inner[position])
                    position += inner[position...].starts(with: doubled) ? 2 : 1
                }
                tokens.append(.word(String(decoding: name, as: UTF8.self), quoted: true))
                index = end
            case UInt8(ascii: "$") where next.map { !($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) } ?? false:
                // `$tag$ … $tag$` (the tag may be empty).
                var end = index + 1
                while end < bytes.count, bytes[end] != UInt8(ascii: "$"), isWordByte(bytes[end]) { end += 1 }
                guard end < bytes.count, bytes[end] == UInt8(ascii: "$") else {
                    tokens.append(.symbol(byte))
                    index += 1
                    continue
                }
                let tag = Array(bytes[index...end])
                index = end + 1
                while index < bytes.count, !bytes[index...].starts(with: tag) { index += 1 }
                index = min(bytes.count, index + tag.count)
                tokens.append(.literal)
            default:
                guard isWordByte(byte) else {
                    tokens.append(.symbol(byte))
                    index += 1
                    continue
                }
                var end = index
                while end < bytes.count, isWordByte(bytes[end]) { end += 1 }
                let word = String(decoding: bytes[index..<end], as: UTF8.self).uppercased()
                let quote: UInt8? = end < bytes.count ? bytes[end] : nil
                if word == "U", quote == UInt8(ascii: "&") {
                    tokens.append(.unicodeEscaped)
                    index = end + 1
                } else if quote == UInt8(ascii: "'"), ["E", "X", "B", "N"].contains(word) {
                    // E'…' (backslash escapes), X'…', B'…', N'…': literals.
                    index = skipQuoted(from: end, closing: UInt8(ascii: "'"), backslashEscapes: word == "E")
                    tokens.append(.literal)
                } else {
                    tokens.append(.word(word, quoted: false))
                    index = end
                }
            }
        }
        return tokens
    }
}

/// Whether SQL text holds a second statement: a `;` followed by anything but spaces, comments and
/// more `;`, outside quotes (`'…'`, `"…"`, PostgreSQL's `$tag$…$tag$`) and comments.
func holdsMultipleStatements(_ sql: String) -> Bool {
    let tokens = ReadOnlySQL.tokenize(sql)
    guard let end = tokens.firstIndex(of: .symbol(UInt8(ascii: ";"))) else { return false }
    return tokens[end...].contains { $0 != .symbol(UInt8(ascii: ";")) }
}
