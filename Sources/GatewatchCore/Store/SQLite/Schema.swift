import GRDB

/// The database schema, as versioned migrations.
///
/// The schema is a public interface (the `sql` command, sqlite3, Grafana, Datasette read it),
/// documented in docs/schema.md. Times are stored as ISO 8601 UTC text (`2026-11-20T13:00:00Z`), which
/// sorts and compares correctly as text.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE files (
                        id INTEGER PRIMARY KEY,
                        fingerprint TEXT NOT NULL,
                        head_hash TEXT NOT NULL,
                        head_length INTEGER NOT NULL,
                        path TEXT NOT NULL,
                        format TEXT NOT NULL,
                        compressed INTEGER NOT NULL,
                        bytes INTEGER NOT NULL,
                        lines INTEGER NOT NULL,
                        requests INTEGER NOT NULL,
                        skipped INTEGER NOT NULL,
                        malformed INTEGER NOT NULL,
                        ends_with_newline INTEGER NOT NULL,
                        first_time TEXT,
                        last_time TEXT,
                        status TEXT NOT NULL,
                        error TEXT,
                        ingested_at TEXT NOT NULL,
                        updated_at TEXT NOT NULL
                    );
                    CREATE INDEX files_head_hash ON files(head_hash);
                    CREATE UNIQUE INDEX files_fingerprint ON files(fingerprint);

                    CREATE TABLE malformed_lines (
                        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
                        line INTEGER NOT NULL,
                        reason TEXT NOT NULL,
                        sample TEXT NOT NULL,
                        PRIMARY KEY (file_id, line)
                    ) WITHOUT ROWID;

                    CREATE TABLE hourly (
                        hour TEXT NOT NULL,
                        site TEXT NOT NULL,
                        address TEXT NOT NULL,
                        verdict TEXT NOT NULL,
                        outcome TEXT NOT NULL,
                        status INTEGER NOT NULL,
                        substatus INTEGER NOT NULL,
                        requests INTEGER NOT NULL,
                        bytes INTEGER NOT NULL,
                        time_taken_sum INTEGER NOT NULL,
                        time_taken_max INTEGER NOT NULL,
                        first_seen TEXT NOT NULL,
                        last_seen TEXT NOT NULL,
                        PRIMARY KEY (hour, site, address, verdict, outcome, status, substatus)
                    ) WITHOUT ROWID;
                    CREATE INDEX hourly_address ON hourly(address, hour);

                    CREATE TABLE evidence (
                        id INTEGER PRIMARY KEY,
                        time TEXT NOT NULL,
                        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
                        line INTEGER NOT NULL,
                        site TEXT NOT NULL,
                        address TEXT NOT NULL,
                        forwarded_for TEXT,
                        method TEXT,
                        uri_stem TEXT,
                        uri_query TEXT,
                        status INTEGER NOT NULL,
                        substatus INTEGER NOT NULL,
                        user_agent TEXT,
                        host TEXT,
                        verdict TEXT NOT NULL,
                        outcome TEXT NOT NULL,
                        rule TEXT NOT NULL
                    );
                    CREATE INDEX evidence_time ON evidence(time);
                    CREATE INDEX evidence_address ON evidence(address, time);

                    CREATE TABLE inventory (
                        day TEXT NOT NULL,
                        address TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        value TEXT NOT NULL,
                        requests INTEGER NOT NULL,
                        PRIMARY KEY (day, address, kind, value)
                    ) WITHOUT ROWID;
                    CREATE INDEX inventory_address ON inventory(address, day);

                    CREATE TABLE latency (
                        day TEXT NOT NULL,
                        site TEXT NOT NULL,
                        endpoint TEXT NOT NULL,
                        verdict TEXT NOT NULL,
                        bucket INTEGER NOT NULL,
                        requests INTEGER NOT NULL,
                        PRIMARY KEY (day, site, endpoint, verdict, bucket)
                    ) WITHOUT ROWID;

                    CREATE TABLE meta (
                        key TEXT PRIMARY KEY,
                        value TEXT NOT NULL
                    ) WITHOUT ROWID;
                    """
            )
        }
        GatewaySchema.register(in: &migrator)
        AlertSchema.register(in: &migrator)
        // Fleet mode: every row of hourly, evidence and files names the host that ingested it.
        // Rows from before this version keep an empty source.
        migrator.registerMigration("v2-source") { db in
            try db.execute(
                sql: """
                    ALTER TABLE files ADD COLUMN source TEXT NOT NULL DEFAULT '';
                    ALTER TABLE evidence ADD COLUMN source TEXT NOT NULL DEFAULT '';
                    CREATE TABLE hourly_v2 (
                        hour TEXT NOT NULL,
                        site TEXT NOT NULL,
                        address TEXT NOT NULL,
                        verdict TEXT NOT NULL,
                        outcome TEXT NOT NULL,
                        status INTEGER NOT NULL,
                        substatus INTEGER NOT NULL,
                        requests INTEGER NOT NULL,
                        bytes INTEGER NOT NULL,
                        time_taken_sum INTEGER NOT NULL,
                        time_taken_max INTEGER NOT NULL,
                        first_seen TEXT NOT NULL,
                        last_seen TEXT NOT NULL,
                        source TEXT NOT NULL DEFAULT '',
                        PRIMARY KEY (hour, site, address, verdict, outcome, status, substatus, source)
                    ) WITHOUT ROWID;
                    INSERT INTO hourly_v2 SELECT *, '' FROM hourly;
                    DROP TABLE hourly;
                    ALTER TABLE hourly_v2 RENAME TO hourly;
                    CREATE INDEX hourly_address ON hourly(address, hour);
                    """
            )
        }
        // What each file was read and judged under (issue 20): a later run under another policy or
        // layout says so. NULL in rows from before this version: unknown, and never claimed.
        migrator.registerMigration("v3-read-under") { db in
            try db.execute(
                sql: """
                    ALTER TABLE files ADD COLUMN policy_fingerprint TEXT;
                    ALTER TABLE files ADD COLUMN policy_source TEXT;
                    ALTER TABLE files ADD COLUMN read_fields TEXT;
                    ALTER TABLE files ADD COLUMN read_options TEXT;
                    """
            )
        }
        // Owner attribution's reverse DNS cache (issue 24); kept in OwnerSchema.swift.
        OwnerSchema.register(in: &migrator)
        // Facts and judgements apart, the policy registry (issue 21); kept in FactsSchema.swift.
        FactsSchema.register(in: &migrator)
        return migrator
    }
}
