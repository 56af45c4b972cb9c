import Foundation
import GRDB
import Testing

@testable import GatewatchCore

/// The schema is written twice, once per engine: the SQLite migrations and the PostgreSQL DDL.
///
/// Both must declare the same tables, the same columns in the same order, and the same keys and
/// indexes. No server needed: the SQLite migrations run on an in-memory database and are read
/// back with `PRAGMA`s; the PostgreSQL DDL is read as text.
@Suite("Schema parity between the engines")
struct SchemaParityTests {
    /// One table as both engines are compared: what a query or a copy between them depends on.
    struct Table: Equatable, CustomStringConvertible {
        var columns: [String] = []
        var primaryKey: [String] = []
        /// Named indexes: name → (unique, columns).
        var indexes: [String: Index] = [:]
        /// `UNIQUE (…)` constraints of the table body.
        var uniqueConstraints: Set<[String]> = []

        var description: String {
            let named = indexes.sorted { $0.key < $1.key }.map { "\($0.key)\($0.value)" }.joined(separator: ", ")
            return
                "columns \(columns), key \(primaryKey), indexes [\(named)], unique \(uniqueConstraints.sorted { $0.lexicographicallyPrecedes($1) })"
        }
    }

    struct Index: Equatable, CustomStringConvertible {
        var unique: Bool
        var columns: [String]
        var description: String { "(\(unique ? "unique " : "")\(columns.joined(separator: ", ")))" }
    }

    /// The schema SQLite ends with after every migration.
    static func sqliteSchema() throws -> [String: Table] {
        let queue = try DatabaseQueue()
        try Schema.migrator.migrate(queue)
        return try queue.read { db in
            var tables: [String: Table] = [:]
            let names = try String.fetchAll(
                db,
                sql: """
                    SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                        AND name <> 'grdb_migrations'
                    """
            )
            for name in names {
                var table = Table()
                var keyed: [(Int, String)] = []
                for row in try Row.fetchAll(
                    db,
                    sql: "SELECT name, pk FROM pragma_table_info(?) ORDER BY cid",
                    arguments: [name]
                ) {
                    let column: String = row["name"]
                    table.columns.append(column)
                    let position: Int = row["pk"]
                    if position > 0 { keyed.append((position, column)) }
                }
                table.primaryKey = keyed.sorted { $0.0 < $1.0 }.map(\.1)
                for index in try Row.fetchAll(
                    db,
                    sql: "SELECT name, \"unique\", origin FROM pragma_index_list(?)",
                    arguments: [name]
                ) {
                    let indexName: String = index["name"]
                    let origin: String = index["origin"]
                    let columns = try String.fetchAll(
                        db,
                        sql: "SELECT name FROM pragma_index_info(?) ORDER BY seqno",
                        arguments: [indexName]
                    )
                    switch origin {
                    case "c": table.indexes[indexName] = Index(unique: index["unique"] as Int == 1, columns: columns)
                    case "u": table.uniqueConstraints.insert(columns)
                    default: continue  // the primary key, compared above
                    }
                }
                tables[name] = table
            }
            return tables
        }
    }

    /// The schema the PostgreSQL migrations declare, read from their text.
    static func postgresSchema(_ migrations: [String]) -> [String: Table] {
        var tables: [String: Table] = [:]
        let text = migrations.joined(separator: ";\n")
            .split(separator: "\n", omittingEmptySubsequences: false)
            .map { line in line.range(of: "--").map { String(line[..<$0.lowerBound]) } ?? String(line) }
            .joined(separator: "\n")
        for rawStatement in text.split(separator: ";") {
            let statement = rawStatement.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            let words = statement.split(separator: " ").map(String.init)
            if statement.hasPrefix("CREATE TABLE "), !statement.contains(" PARTITION OF ") {
                let name = words[2]
                guard let open = statement.firstIndex(of: "("), let close = statement.lastIndex(of: ")") else {
                    continue
                }
                var table = Table()
                for element in topLevelElements(String(statement[statement.index(after: open)..<close])) {
                    if element.hasPrefix("PRIMARY KEY") {
                        table.primaryKey = columnList(element)
                    } else if element.hasPrefix("UNIQUE") {
                        table.uniqueConstraints.insert(columnList(element))
                    } else if let column = element.split(separator: " ").first {
                        table.columns.append(String(column))
                        if element.contains("PRIMARY KEY") { table.primaryKey = [String(column)] }
                    }
                }
                tables[name] = table
            } else if statement.hasPrefix("ALTER TABLE "), words.count > 5, words[3] == "ADD", words[4] == "COLUMN" {
                tables[words[2], default: Table()].columns.append(words[5])
            } else if statement.hasPrefix("ALTER TABLE "), words.count > 5, words[3] == "ADD", words[4] == "PRIMARY" {
                // v4-facts re-keys hourly in place (a partitioned table is not rebuilt).
                tables[words[2], default: Table()].primaryKey = columnList(statement)
            } else if statement.hasPrefix("ALTER TABLE "), words.count > 5, words[3] == "DROP", words[4] == "COLUMN" {
                tables[words[2], default: Table()].columns.removeAll { $0 == words[5] }
            } else if statement.hasPrefix("ALTER TABLE "), words.count > 5, words[3] == "RENAME", words[4] == "TO" {
                // v4-facts keeps hourly's facts as hourly_facts (hourly becomes a view).
                tables[words[5]] = tables.removeValue(forKey: words[2])
            } else if statement.hasPrefix("DROP INDEX "), words.count > 2 {
                // v4-facts drops inventory's address index (its key starts with the address).
                for name in tables.keys { tables[name]?.indexes[words[2]] = nil }
            } else if statement.hasPrefix("CREATE INDEX ") || statement.hasPrefix("CREATE UNIQUE INDEX ") {
                let unique = words[1] == "UNIQUE"
                let name = words[unique ? 3 : 2]
                guard let on = statement.range(of: " ON ") else { continue }
                let target = statement[on.upperBound...]
                let table = String(target.prefix { $0 != "(" && $0 != " " })
                tables[table, default: Table()].indexes[name] = Index(
                    unique: unique,
                    columns: columnList(String(target))
                )
            }
        }
        return tables
    }

    /// The comma-separated elements of a table body, commas inside parentheses kept.
    static func topLevelElements(_ body: String) -> [String] {
        var elements: [String] = []
        var depth = 0
        var current = ""
        for character in body {
            if character == "(" { depth += 1 }
            if character == ")" { depth -= 1 }
            if character == ",", depth == 0 {
                elements.append(current.trimmingCharacters(in: .whitespaces))
                current = ""
            } else {
                current.append(character)
            }
        }
        elements.append(current.trimmingCharacters(in: .whitespaces))
        return elements.filter { !$0.isEmpty }
    }

    /// The names in the first parentheses of `text`: `PRIMARY KEY (a, b)` → `[a, b]`.
    static func columnList(_ text: String) -> [String] {
        guard let open = text.firstIndex(of: "("), let close = text[open...].firstIndex(of: ")") else { return [] }
        return text[text.index(after: open)..<close].split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
    }

    static var postgresMigrations: [String] { PostgresSchema.allMigrations.map(\.sql) }

    @Test("both engines declare the same tables, columns in order, keys and indexes")
    func sameSchema() throws {
        let sqlite = try Self.sqliteSchema()
        let server = Self.postgresSchema(Self.postgresMigrations)
        #expect(sqlite.keys.sorted() == server.keys.sorted())
        #expect(sqlite.count >= 14)
        for name in sqlite.keys.sorted() {
            #expect(
                sqlite[name] == server[name],
                "table \(name): SQLite \(sqlite[name]!) vs PostgreSQL \(server[name].map(\.description) ?? "missing")"
            )
        }
        // `hourly` is a view on both, over hourly_facts and judgements, with the columns it had as a table.
        let queue = try DatabaseQueue()
        try Schema.migrator.migrate(queue)
        let viewColumns = try queue.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info('hourly') ORDER BY cid")
        }
        #expect(
            viewColumns == [
                "hour", "site", "address", "verdict", "outcome", "status", "substatus", "requests", "bytes",
                "time_taken_sum", "time_taken_max", "first_seen", "last_seen", "source", "key_id",
            ]
        )
        #expect(Self.postgresMigrations.contains { $0.contains(FactsSchema.hourlyView) })
        // Every table the PostgreSQL copy (migrate-store) fills exists on both.
        #expect(Set(PostgresSchema.tables.map(\.name)).isSubset(of: Set(sqlite.keys)))
    }

    @Test("a column added to one engine only is caught")
    func oneSidedColumnIsCaught() throws {
        let sqlite = try Self.sqliteSchema()
        let widened = Self.postgresSchema(
            Self.postgresMigrations + ["ALTER TABLE hourly_facts ADD COLUMN extra TEXT COLLATE \"C\""]
        )
        #expect(widened["hourly_facts"] != sqlite["hourly_facts"])
        #expect(widened["hourly_facts"]?.columns.last == "extra")
        let reindexed = Self.postgresSchema(
            Self.postgresMigrations + ["CREATE INDEX hourly_site ON hourly_facts(site)"]
        )
        #expect(reindexed["hourly_facts"] != sqlite["hourly_facts"])
    }

    @Test("the DDL reader sees keys, inline keys, unique constraints and indexes")
    func readerUnderstandsDDL() {
        let tables = Self.postgresSchema([
            """
            -- a comment; with a semicolon
            CREATE TABLE t (
                id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                a TEXT NOT NULL DEFAULT '',
                b NUMERIC(10, 2),
                UNIQUE (a, b)
            );
            CREATE TABLE t_other PARTITION OF t DEFAULT;
            CREATE UNIQUE INDEX t_a ON t(a);
            ALTER TABLE t ADD COLUMN c BIGINT;
            ALTER TABLE t ADD COLUMN d BIGINT;
            ALTER TABLE t DROP COLUMN d;
            ALTER TABLE t RENAME TO u
            """
        ])
        #expect(tables.keys.sorted() == ["u"])
        #expect(tables["u"]?.columns == ["id", "a", "b", "c"])
        #expect(tables["u"]?.primaryKey == ["id"])
        #expect(tables["u"]?.uniqueConstraints == [["a", "b"]])
        #expect(tables["u"]?.indexes == ["t_a": Index(unique: true, columns: ["a"])])
    }
}
