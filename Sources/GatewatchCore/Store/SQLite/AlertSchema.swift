import GRDB

/// The tables of alerting and follow mode, as the migration `alerts-v1`.
///
/// - `alert_state`: one row per rule and key (an address, a CIDR block, or `''` for rules without
///   keys): when it last fired and the newest data it covered, for cooldowns and so that the same
///   requests never fire twice.
/// - `alerts`: every alert sent (the JSON payload as delivered), with how many sinks failed;
///   `pending` (migration `alerts-v2-pending`) lists, one per line, the labels of the sinks the
///   alert is still owed to, so that a failed delivery is sent again on the next run.
/// - `watch_files`: the follow loop's stat cache: per path, the (device, inode, size, mtime) at
///   which the file was last ingested, so unchanged files are skipped without being read, also
///   after a restart.
enum AlertSchema {
    /// Registers the `alerts-v1` migration.
    ///
    /// - Parameter migrator: The store's migrator (``Schema``).
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("alerts-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE alert_state (
                        rule TEXT NOT NULL,
                        key TEXT NOT NULL,
                        last_fired TEXT NOT NULL,
                        last_evidence_id INTEGER NOT NULL DEFAULT 0,
                        last_seen TEXT NOT NULL DEFAULT '',
                        fired_count INTEGER NOT NULL DEFAULT 1,
                        PRIMARY KEY (rule, key)
                    ) WITHOUT ROWID;

                    CREATE TABLE alerts (
                        id INTEGER PRIMARY KEY,
                        fired_at TEXT NOT NULL,
                        rule TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        window_start TEXT NOT NULL,
                        window_end TEXT NOT NULL,
                        count INTEGER NOT NULL,
                        keys INTEGER NOT NULL,
                        payload TEXT NOT NULL,
                        sinks_failed INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE INDEX alerts_fired_at ON alerts(fired_at);

                    CREATE TABLE watch_files (
                        path TEXT PRIMARY KEY,
                        device INTEGER NOT NULL,
                        inode INTEGER NOT NULL,
                        size INTEGER NOT NULL,
                        mtime_ns INTEGER NOT NULL,
                        checked_at TEXT NOT NULL
                    ) WITHOUT ROWID;
                    """
            )
        }
        migrator.registerMigration("alerts-v2-pending") { db in
            try db.execute(sql: "ALTER TABLE alerts ADD COLUMN pending TEXT NOT NULL DEFAULT ''")
        }
    }
}
