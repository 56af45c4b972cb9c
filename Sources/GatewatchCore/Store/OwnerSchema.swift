import GRDB

/// The reverse DNS cache of owner attribution (issue 24), as the migration `rdns-cache-v1` on both
/// engines (SQLite here, PostgreSQL in ``PostgresSchema``).
///
/// - `rdns_cache`: per client address, its PTR name (escaped; `NULL` when the resolver has none)
///   and when it was resolved (UTC), so a name is asked again only after the TTL. Filled by
///   `--resolve-names` on query commands, never on the ingest path.
enum OwnerSchema {
    /// The migration id, the same on both engines.
    static let migrationID = "rdns-cache-v1"

    /// Registers the SQLite migration.
    ///
    /// - Parameter migrator: The store's migrator (``Schema``).
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration(migrationID) { db in
            try db.execute(
                sql: """
                    CREATE TABLE rdns_cache (
                        address TEXT PRIMARY KEY,
                        name TEXT,
                        resolved_at TEXT NOT NULL
                    ) WITHOUT ROWID;
                    """
            )
        }
    }

    /// The PostgreSQL migration.
    static let postgres: (id: String, sql: String) = (
        migrationID,
        """
        CREATE TABLE rdns_cache (
            address TEXT COLLATE "C" PRIMARY KEY,
            name TEXT COLLATE "C",
            resolved_at TEXT COLLATE "C" NOT NULL
        );
        """
    )
}
