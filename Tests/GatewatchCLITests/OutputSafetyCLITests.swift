import Foundation
import Testing

/// Issue 20, output safety: `report --out` never destroys data, `sql` never writes.
@Suite("report --out and sql cannot damage data")
struct OutputSafetyCLITests {
    static func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    @Test("report --out refuses the store, its WAL, another SQLite file and a dangling link, leaving them alone")
    func reportRefusesData() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = try DeliveryCLITests.store(in: directory)
        let other = directory + "/other.sqlite"
        try FileManager.default.copyItem(atPath: db, toPath: other)
        // The same file under another name: a hard link.
        link(db, directory + "/alias.html")
        let before = Self.bytes(db)
        for (out, fragment) in [
            (db, "it is the store"), (directory + "/alias.html", "it is the store"),
            (other, "it is a SQLite database file"),
        ] {
            let result = try CLI.run(["report", "--db", db, "--out", out])
            #expect(result.status == 2, "\(out): \(result.stderr)")
            #expect(result.stderr.contains(fragment), "\(result.stderr)")
        }
        #expect(Self.bytes(db) == before)
        #expect(Self.bytes(other)?.prefix(16) == Data("SQLite format 3\0".utf8))
        // A link to a file that does not exist would create it wherever it points.
        symlink(directory + "/nowhere/report.html", directory + "/dangling.html")
        let dangling = try CLI.run(["report", "--db", db, "--out", directory + "/dangling.html"])
        #expect(dangling.status == 2, "\(dangling.stderr)")
        #expect(dangling.stderr.contains("symbolic link to '\(directory)/nowhere/report.html', which does not exist"))
        symlink(directory + "/target.html", directory + "/dangling2.html")
        #expect(try CLI.run(["report", "--db", db, "--out", directory + "/dangling2.html"]).status == 2)
        #expect(!FileManager.default.fileExists(atPath: directory + "/target.html"))
    }

    @Test("report --out keeps an existing file's mode (0600 stays 0600) and writes through a live link")
    func reportKeepsMode() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = try DeliveryCLITests.store(in: directory)
        let out = directory + "/private.html"
        FileManager.default.createFile(atPath: out, contents: Data("old".utf8), attributes: [.posixPermissions: 0o600])
        let result = try CLI.run(["report", "--db", db, "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        let attributes = try FileManager.default.attributesOfItem(atPath: out)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(String(decoding: Self.bytes(out) ?? Data(), as: UTF8.self).hasPrefix("<!DOCTYPE html>"))
        symlink(out, directory + "/live.html")
        #expect(try CLI.run(["report", "--db", db, "--out", directory + "/live.html"]).status == 0)
        let type =
            try FileManager.default.attributesOfItem(atPath: directory + "/live.html")[.type] as? FileAttributeType
        #expect(type == .typeSymbolicLink)
    }

    /// Statements that would write, or change the session or the server, on SQLite.
    static let sqliteEscapes = [
        "VACUUM INTO 'copy.db'", "ATTACH DATABASE 'attached.db' AS x", "PRAGMA user_version = 7",
        "PRAGMA user_version(7)", "PRAGMA journal_mode = DELETE", "PRAGMA wal_checkpoint(TRUNCATE)",
        "SELECT load_extension('libnothing')", "WITH x AS (SELECT 1) INSERT INTO meta (key, value) VALUES ('a', 'b')",
        "SELECT 1; DELETE FROM hourly", "REPLACE INTO meta (key, value) VALUES ('a', 'b')",
        "EXPLAIN QUERY PLAN DELETE FROM hourly", "CREATE TEMP TABLE t AS SELECT 1",
    ]

    @Test("sql on SQLite refuses every write form (exit 2) and the store and folder are unchanged")
    func sqliteCannotWrite() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = try DeliveryCLITests.store(in: directory)
        let before = try CLI.dump(db)
        for statement in Self.sqliteEscapes {
            let result = try CLI.run(["sql", "--db", db, statement], in: directory)
            #expect(result.status == 2, "\(statement): \(result.stdout) \(result.stderr)")
            #expect(result.stderr.hasPrefix("Error: "), "\(statement): \(result.stderr)")
        }
        #expect(try CLI.dump(db) == before)
        for file in ["copy.db", "attached.db"] {
            #expect(!FileManager.default.fileExists(atPath: directory + "/" + file), "\(file) was created")
        }
        // What reads still runs.
        for statement in [
            "PRAGMA table_info(hourly)", "SELECT * FROM pragma_table_info('files')", "PRAGMA user_version",
            "SELECT 'insert into x' AS t", "VALUES (1)", "EXPLAIN QUERY PLAN SELECT * FROM hourly",
        ] {
            let result = try CLI.run(["sql", "--db", db, statement])
            #expect(result.status == 0, "\(statement): \(result.stderr)")
        }
    }
}
