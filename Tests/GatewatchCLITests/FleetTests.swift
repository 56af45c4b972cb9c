import Foundation
import Testing

@testable import GatewatchCore

/// A PostgreSQL server for the fleet tests: `$GATEWATCH_TEST_POSTGRES` (a URL whose database the
/// tests may create databases beside), else the throwaway server of `Scripts/pg-test-server.sh`
/// (started when it is not running).
///
/// Each test gets a new database.
enum TestPostgres {
    /// The server's URL, or `nil` when none could be reached or started.
    static let baseURL: String? = {
        if let url = ProcessInfo.processInfo.environment["GATEWATCH_TEST_POSTGRES"], !url.isEmpty { return url }
        let script = CLI.repositoryRoot.appendingPathComponent("Scripts/pg-test-server.sh").path
        for command in ["url", "start"] {
            if let url = run(script, [command]), url.hasPrefix("postgres") { return url }
        }
        return nil
    }()

    /// Whether the fleet tests can run; says loudly why not when they cannot.
    static let available: Bool = {
        if Libpq.available == nil {
            let banner = String(repeating: "!", count: 78)
            FileHandle.standardError.write(
                Data(
                    """
                    \(banner)
                    !! PostgreSQL TESTS SKIPPED: libpq is not installed (apt-get install libpq5): fleet mode
                    !! is NOT tested in this run.
                    \(banner)

                    """.utf8
                )
            )
            return false
        }
        guard baseURL != nil else {
            let banner = String(repeating: "!", count: 78)
            FileHandle.standardError.write(
                Data(
                    """
                    \(banner)
                    !! PostgreSQL TESTS SKIPPED: no server could be started (Scripts/pg-test-server.sh start
                    !! failed and GATEWATCH_TEST_POSTGRES is not set). Fleet mode is NOT tested in this run.
                    \(banner)

                    """.utf8
                )
            )
            return false
        }
        return true
    }()

    /// Runs the script and returns its standard output when it succeeds.
    ///
    /// Spawned and waited for directly (`posix_spawn`, `waitpid`), its output in a file: with
    /// Foundation's `Process`, `start` (which leaves a server running) was seen to never be
    /// reported as exited, and `swift test` hung for good when no server was running before.
    private static func run(_ executable: String, _ arguments: [String]) -> String? {
        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("gatewatch-pg-\(UUID().uuidString).out").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, executable, &actions, nil, argv, environ) == 0 else { return nil }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return nil }
        }
        // Exited (not signalled) with status 0.
        guard status & 0x7F == 0, (status >> 8) & 0xFF == 0,
            let data = FileManager.default.contents(atPath: outputPath)
        else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Creates an empty database and returns its URL.
    static func makeDatabase(_ label: String = #function) throws -> String {
        guard let baseURL else { throw SQLError(message: "no PostgreSQL server", code: "08000", sql: "") }
        let name =
            "gw_" + label.lowercased().filter { $0.isLetter }.prefix(20) + "_"
            + UUID().uuidString.prefix(8).lowercased()
        let admin = try PostgresConnection(url: baseURL)
        try admin.execute("CREATE DATABASE \(name)", [])
        guard let slash = baseURL.range(of: "/", options: .backwards), slash.lowerBound > baseURL.startIndex else {
            return baseURL
        }
        let query = baseURL[slash.upperBound...].firstIndex(of: "?").map { String(baseURL[$0...]) } ?? ""
        return String(baseURL[..<slash.upperBound]) + name + query
    }
}

/// Fleet mode: several ingesters into one PostgreSQL give the answers of one SQLite ingest.
@Suite("fleet mode on PostgreSQL", .serialized, .enabled(if: TestPostgres.available))
struct FleetTests {
    /// Generates `count` logs of `lines` lines with genlog.py, one UTC day each.
    static func generate(in directory: String, count: Int, lines: Int, firstSeed: Int) throws -> [String] {
        let generator = CLI.repositoryRoot.appendingPathComponent("Benchmarks/reference/genlog.py").path
        var paths: [String] = []
        for index in 0..<count {
            let path = directory + "/u_ex\(index).log.gz"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [
                "python3", generator, "--lines", String(lines), "--seed", String(firstSeed + index),
                "--date", String(UTCTime.format((20_752 + Int64(index)) * 86_400).prefix(10)), "--out", path,
            ]
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            paths.append(path)
        }
        return paths
    }

    /// Where two texts part, with a little context (the whole texts can be megabytes).
    static func difference(_ lhs: String, _ rhs: String) -> String {
        let left = Array(lhs.utf8)
        let right = Array(rhs.utf8)
        var index = 0
        while index < min(left.count, right.count), left[index] == right[index] { index += 1 }
        let start = max(0, index - 80)
        func excerpt(_ bytes: [UInt8]) -> String {
            String(decoding: bytes[min(start, bytes.count)..<min(bytes.count, index + 80)], as: UTF8.self)
        }
        return "at byte \(index) of \(left.count)/\(right.count): «\(excerpt(left))» vs «\(excerpt(right))»"
    }

    @Test("four ingesters at once, two sharing a file, equal one SQLite ingest byte for byte")
    func concurrentIngestersMatchSQLite() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Nine files over two months (October and November partitions).
        let files = try Self.generate(in: directory, count: 9, lines: 12_000, firstSeed: 700)
        let shared = files[8]
        let sets = [
            [files[0], files[1], shared], [files[2], files[3], shared], [files[4], files[5]], [files[6], files[7]],
        ]
        let url = try TestPostgres.makeDatabase()
        let gateways = ["--gateway", "20.50.10.0/28"]

        // The schema is created by whichever ingester gets there first.
        var processes: [Process] = []
        var errors: [Pipe] = []
        for (index, set) in sets.enumerated() {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = ["ingest", "--quiet", "--db", url, "--source", "host\(index)"] + gateways + set
            let error = Pipe()
            process.standardError = error
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            processes.append(process)
            errors.append(error)
        }
        for (process, error) in zip(processes, errors) {
            let message = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(message)")
        }

        let sqlite = directory + "/one.db"
        let single = try CLI.run(["ingest", "--quiet", "--db", sqlite] + gateways + files)
        #expect(single.status == 0, "\(single.stderr)")

        for query in [
            ["summary", "--format", "json"],
            ["top", "--verdict", "direct", "--limit", "0", "--format", "json"],
        ] {
            let fleet = try CLI.run(query + ["--db", url])
            let local = try CLI.run(query + ["--db", sqlite])
            #expect(fleet.status == 0, "\(fleet.stderr)")
            #expect(!local.stdout.isEmpty)
            let same = fleet.stdout == local.stdout
            #expect(
                same,
                "\(query[0]) differs between PostgreSQL and SQLite: \(Self.difference(fleet.stdout, local.stdout))"
            )
        }

        // The shared file is in the ledger once; every host's rows carry its name.
        let store = try Store(path: url, readOnly: true)
        try store.query { db throws in
            #expect(try db.value(Int.self, "SELECT COUNT(*) FROM files") == 9)
            #expect(try db.value(Int.self, "SELECT SUM(requests) FROM files WHERE status = 'complete'") == 9 * 12_000)
            let sources = try db.values(String.self, "SELECT DISTINCT source FROM hourly ORDER BY 1")
            #expect(sources.count == 4 && sources.allSatisfy { $0.hasPrefix("host") })
            #expect(try db.value(Int.self, "SELECT SUM(requests) FROM hourly") == 9 * 12_000)
            #expect(try db.value(Int.self, "SELECT SUM(requests) FROM judgements") == 9 * 12_000)
            // Two months of data: two partitions (of the stored table; `hourly` is a view over it).
            let partitions = try db.values(
                String.self,
                "SELECT CAST(c.relname AS TEXT) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'hourly_facts' ORDER BY 1"
            )
            #expect(partitions == ["hourly_2026_10", "hourly_2026_11", "hourly_other"])
        }
    }

    @Test("migrate-store round-trips the SampleLogs store: every query's JSON is identical")
    func migrateStoreRoundTrip() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let sqlite = directory + "/sample.db"
        let root = CLI.repositoryRoot.path
        let config = root + "/SampleLogs/gatewatch.yaml"
        let ingest = try CLI.run([
            "ingest", "--quiet", "--db", sqlite, "--config", config, "--keep-gateway-requests",
            root + "/SampleLogs/backend", root + "/SampleLogs/gateway",
        ])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let url = try TestPostgres.makeDatabase()
        let copy = try CLI.run(["migrate-store", "--from", sqlite, "--to", url, "--json"])
        #expect(copy.status == 0, "\(copy.stderr)")
        #expect(copy.stdout.contains("\"hourly_facts\""), "the stored table under the hourly view")

        let named = ["--config", config]
        let queries: [[String]] = [
            ["summary", "--format", "json"],
            ["top", "--limit", "0", "--format", "json"] + named,
            ["top", "--verdict", "all", "--by", "bytes", "--format", "json"] + named,
            ["top", "--side", "gateway", "--format", "json"] + named,
            ["clients", "--limit", "0", "--format", "json"] + named,
            ["timeline", "--format", "json"] + named,
            ["timeline", "--bucket", "day", "--tz", "Europe/Berlin", "--format", "json"] + named,
            ["statuses", "--format", "json"] + named,
            ["events", "--limit", "0", "--format", "json"] + named,
            ["ip", "198.51.100.23", "--format", "json"] + named,
            ["correlate", "--format", "json"],
            [
                "sql", "SELECT verdict, SUM(requests) AS n FROM hourly GROUP BY verdict ORDER BY verdict", "--format",
                "json",
            ],
        ]
        for query in queries {
            let before = try CLI.run(query + ["--db", sqlite])
            let after = try CLI.run(query + ["--db", url])
            #expect(before.status == 0, "\(query): \(before.stderr)")
            #expect(after.status == 0, "\(query): \(after.stderr)")
            let same = before.stdout == after.stdout
            #expect(
                same,
                "\(query.joined(separator: " ")) differs after migrate-store: \(Self.difference(before.stdout, after.stdout))"
            )
        }
        // A second copy into the same store is refused.
        let again = try CLI.run(["migrate-store", "--from", sqlite, "--to", url])
        #expect(again.status != 0)
        #expect(again.stderr.contains("already holds ingested data"))
    }

    @Test("ingesting the same files again into PostgreSQL adds nothing; prune drops whole partitions")
    func idempotentAndPrune() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = try Self.generate(in: directory, count: 2, lines: 3_000, firstSeed: 900)
        let url = try TestPostgres.makeDatabase()
        #expect(try CLI.run(["ingest", "--quiet", "--db", url] + files).status == 0)
        let first = try CLI.run(["summary", "--format", "json", "--db", url])
        let again = try CLI.run(["ingest", "--db", url, "--format", "w3c"] + files)
        #expect(again.status == 0)
        #expect(again.stdout.contains("0 new, 2 already known"))
        #expect(try CLI.run(["summary", "--format", "json", "--db", url]).stdout == first.stdout)

        // 2026-10-25 and -26 are in October: pruning before November drops that partition.
        let pruned = try CLI.run(["prune", "--before", "2026-11-01", "--json", "--db", url])
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(pruned.stdout.contains("\"hourly\""))
        let store = try Store(path: url, readOnly: true)
        try store.query { db throws in
            #expect(try db.value(Int.self, "SELECT COUNT(*) FROM hourly") == 0)
            #expect(try db.value(String.self, "SELECT CAST(to_regclass('hourly_2026_10') AS TEXT)") == nil)
            #expect(try db.value(Int.self, "SELECT COUNT(*) FROM files") == 2)  // the ledger stays
        }
    }

    @Test("PostgreSQL records what files were read under; --reingest replaces them as on SQLite")
    func reingestOnPostgres() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = try Self.generate(in: directory, count: 2, lines: 2_000, firstSeed: 940)
        let url = try TestPostgres.makeDatabase()
        let unjudged = try CLI.run(["ingest", "--db", url] + files)
        #expect(unjudged.status == 0, "\(unjudged.stderr)")
        #expect(unjudged.stderr.contains("nothing to judge against"))
        let policy = ["--gateway", "20.50.10.0/28"]
        // Issue 21: another policy is refused, naming both; reclassify re-judges the history.
        let again = try CLI.run(["ingest", "--db", url] + policy + files)
        #expect(again.status == 2 && again.stderr.contains("gatewatch reclassify"), "\(again.stderr)")
        let reclassified = try CLI.run(["reclassify", "--db", url] + policy)
        #expect(reclassified.status == 0, "\(reclassified.stderr)")
        // One file alone shares no day with the other (genlog writes one day per file).
        let one = try CLI.run(["ingest", "--reingest", "--quiet", "--db", url] + policy + [files[0]])
        #expect(one.status == 0, "\(one.stderr)")
        let both = try CLI.run(["ingest", "--reingest", "--quiet", "--db", url] + policy + files)
        #expect(both.status == 0, "\(both.stderr)")
        let sqlite = directory + "/fresh.db"
        #expect(try CLI.run(["ingest", "--quiet", "--db", sqlite] + policy + files).status == 0)
        for query in [
            ["summary", "--format", "json"], ["top", "--verdict", "all", "--limit", "0", "--format", "json"],
        ] {
            let expected = try CLI.run(query + ["--db", sqlite]).stdout
            #expect(try CLI.run(query + ["--db", url]).stdout == expected, "\(query)")
        }
        #expect(try CLI.keysWithWrongRequests(url) == 0)
        let store = try Store(path: url, readOnly: true)
        try store.query { db throws in
            let sources = try db.values(String.self, "SELECT policy_source FROM files ORDER BY path", [])
            #expect(
                sources == Array(repeating: "implied lock-down (gateway only); gateways 20.50.10.0/28", count: 2)
            )
        }
    }

    @Test("a PostgreSQL URL that cannot be reached fails with a clear message and exit 1")
    func unreachableServer() throws {
        let result = try CLI.run(["summary", "--db", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot open database 'postgres://nobody@127.0.0.1:1/none"))
    }

    @Test("sql on PostgreSQL: an empty result keeps its header, and a literal ? is text")
    func sqlEmptyResultAndQuestionMark() throws {
        let url = try TestPostgres.makeDatabase()
        _ = try Store(path: url)
        let empty = try CLI.run(["sql", "--db", url, "--format", "csv", "SELECT path, status FROM files"])
        #expect(empty.status == 0, "\(empty.stderr)")
        #expect(empty.stdout.hasPrefix("path,status"))
        let mark = try CLI.run(["sql", "--db", url, "--format", "json", "SELECT '?' AS q"])
        #expect(mark.status == 0, "\(mark.stderr)")
        #expect(mark.stdout.contains("\"q\":\"?\""))
    }

    @Test("a log in a legacy code page (invalid UTF-8) ingests into PostgreSQL as into SQLite")
    func invalidUTF8() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var log = Data(
            """
            #Software: Microsoft Internet Information Services 10.0
            #Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken

            """.utf8
        )
        log +=
            Data("2026-11-20 10:00:00 10.0.0.5 GET /caf".utf8) + Data([0xE9]) + Data(" - 443 - 203.0.113.9 Agent/".utf8)
        log += Data([0xFF, 0xFE]) + Data(" - 200 0 0 12\n".utf8)
        let path = directory + "/latin1.log"
        try log.write(to: URL(fileURLWithPath: path))
        let url = try TestPostgres.makeDatabase()
        let sqlite = directory + "/one.db"
        for db in [url, sqlite] {
            let result = try CLI.run(["ingest", "--quiet", "--db", db, "--gateway", "20.50.10.4", path])
            #expect(result.status == 0, "\(result.stderr)")
        }
        let fleet = try CLI.run(["events", "--format", "json", "--db", url])
        let local = try CLI.run(["events", "--format", "json", "--db", sqlite])
        #expect(fleet.stdout.contains("/caf\u{FFFD}"))
        #expect(fleet.stdout == local.stdout)
    }

    @Test("migrate-store refuses a SQLite file that is not a Gatewatch store, and leaves it alone")
    func migrateForeignFile() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let foreign = directory + "/other.db"
        func python(_ code: String) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", code]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        _ = try python("import sqlite3; c = sqlite3.connect('\(foreign)'); c.execute('create table t(x)'); c.commit()")
        let result = try CLI.run(["migrate-store", "--from", foreign, "--to", try TestPostgres.makeDatabase()])
        #expect(result.status == 2)
        #expect(result.stderr.contains("is not a Gatewatch store"))
        let tables = try python(
            "import sqlite3; print(','.join(r[0] for r in sqlite3.connect('\(foreign)').execute(\"select name from sqlite_master where type='table'\")))"
        )
        #expect(tables == "t")
    }

    @Test("the sql command cannot write to a PostgreSQL store")
    func sqlIsReadOnly() throws {
        let url = try TestPostgres.makeDatabase()
        _ = try Store(path: url)
        let result = try CLI.run(["sql", "--db", url, "DELETE FROM files"])
        #expect(result.status != 0)
        let rows = try Store(path: url, readOnly: true).query { db in
            try db.value(Int.self, "SELECT COUNT(*) FROM files")
        }
        #expect(rows == 0)
    }

    /// Statements that write, or change the session or the server, through a READ ONLY
    /// transaction or around it.
    static let postgresEscapes = [
        "EXPLAIN ANALYZE SELECT g INTO escaped_into FROM generate_series(1, 100000) g",
        "EXPLAIN (ANALYZE) CREATE TABLE escaped_ctas AS SELECT 1",
        "SELECT 1 AS x INTO escaped_select_into",
        "WITH gone AS (DELETE FROM files RETURNING 1) SELECT COUNT(*) FROM gone",
        "WITH added AS (INSERT INTO meta (key, value) VALUES ('a', 'b') RETURNING 1) SELECT * FROM added",
        "WITH changed AS (UPDATE files SET path = 'x' RETURNING 1) SELECT * FROM changed",
        "SELECT 1; DROP TABLE files", "COPY files TO STDOUT", "COPY (SELECT 1) TO PROGRAM 'touch /tmp/gw-escaped'",
        "CALL nothing()", "DO $$ BEGIN CREATE TABLE escaped_do (x int); END $$", "SET work_mem = '1MB'",
        "SELECT set_config('work_mem', '1MB', false)", "SELECT pg_catalog.set_config('work_mem', '1MB', false)",
        "SELECT \"set_config\"('work_mem', '1MB', false)", "SELECT ARRAY[set_config('work_mem', '1MB', false)]",
        "SELECT U&\"\\0073et_config\"('work_mem', '1MB', false)", "SELECT nextval('files_id_seq')",
        "SELECT setval('files_id_seq', 1)", "SELECT lo_import('/etc/hostname')", "SELECT lo_create(0)",
        "SELECT dblink_exec('dbname=x', 'DROP TABLE files')", "SELECT pg_advisory_lock(1)",
        "SELECT pg_read_file('/etc/hostname')", "SELECT query_to_xml('SELECT 1', true, true, '')",
        "SELECT * FROM files FOR UPDATE", "TABLE files; DELETE FROM files",
    ]

    @Test("sql on PostgreSQL refuses every write form (exit 2): no table, large object, sequence step or kill")
    func sqlEscapesRefused() throws {
        let url = try TestPostgres.makeDatabase()
        _ = try Store(path: url)
        let bystander = try PostgresConnection(url: url)
        let pid = try #require(try bystander.value(Int.self, "SELECT pg_backend_pid()"))
        let state = """
            SELECT (SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public')
                || '/' || (SELECT COUNT(*) FROM pg_largeobject_metadata)
                || '/' || (SELECT last_value FROM files_id_seq) || '/' || (SELECT COUNT(*) FROM files)
            """
        let before = try bystander.value(String.self, state)
        // ts_stat and ts_rewrite run the SQL text they are given, out of sight of the statement's check.
        let throughText = [
            "SELECT pg_terminate_backend(\(pid))",
            "SELECT * FROM ts_stat('SELECT to_tsvector(pg_terminate_backend(\(pid))::text)')",
            "SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, pg_terminate_backend(\(pid))::text::tsquery')",
        ]
        for statement in Self.postgresEscapes + throughText {
            let result = try CLI.run(["sql", "--db", url, statement])
            #expect(result.status == 2, "\(statement): \(result.stdout) \(result.stderr)")
            #expect(result.stderr.hasPrefix("Error: "), "\(statement): \(result.stderr)")
        }
        #expect(try bystander.value(String.self, state) == before)
        #expect(try bystander.value(Int.self, "SELECT 1") == 1, "the bystander's connection was ended")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/gw-escaped"))
        for statement in [
            "SELECT pg_size_pretty(pg_database_size(current_database())) AS size, 'insert into' AS text",
            "SELECT COUNT(*) FROM pg_tables", "SELECT $$ ; DELETE $$ AS quoted", "TABLE files", "SHOW work_mem",
            "EXPLAIN ANALYZE SELECT * FROM hourly",
        ] {
            let result = try CLI.run(["sql", "--db", url, statement])
            #expect(result.status == 0, "\(statement): \(result.stderr)")
        }
    }

    @Test("a read-only command on a store an older Gatewatch made says so and how to upgrade it, not 'no database'")
    func olderSchemaOnPostgres() throws {
        let url = try TestPostgres.makeDatabase()
        let log = CLI.repositoryRoot.appendingPathComponent("SampleLogs/backend/u_ex261120.log.gz").path
        let ingest = try CLI.run(["ingest", "--db", url, "--gateway", "20.50.10.4", log])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        // The store as the previous release left it: without this release's last migration.
        let connection = try PostgresConnection(url: url)
        try connection.execute("DROP TABLE rdns_cache", [])
        try connection.execute("DELETE FROM gatewatch_migrations WHERE id = 'rdns-cache-v1'", [])
        let before = try CLI.run(["summary", "--db", url])
        #expect(before.status == 1)
        #expect(
            before.stderr.contains("was made by an older Gatewatch (schema upgrades rdns-cache-v1 not applied yet)")
        )
        #expect(before.stderr.contains("run 'gatewatch ingest' against it once"))
        #expect(!before.stderr.contains("no database"))
        let upgrade = try CLI.run(["ingest", "--db", url, "--gateway", "20.50.10.4", log])
        #expect(upgrade.status == 0, "\(upgrade.stderr)")
        let after = try CLI.run(["summary", "--db", url, "--format", "json"])
        #expect(after.status == 0, "\(after.stderr)")
        #expect(after.stdout.contains("\"requests\":5718") || after.stdout.contains("\"requests\": 5718"))
    }
}
