import GRDB

/// Facts and judgements apart (issue 21), as the migration `v4-facts` on both engines (SQLite here,
/// PostgreSQL in ``PostgresSchema/allMigrations``).
///
/// - `judgements`: one row per distinct judgement key — a client address with the request facts any
///   policy Gatewatch reads can depend on (platform class, built-in platform agent, the logged IIS
///   version, the App Service filter headers, and the Host / X-Forwarded-For / `<location>` scope
///   when `kept` says so), status and sub-status — with its verdict, outcome and deciding rule under
///   the current policy. `key_id` is a stable hash of the key (``JudgementKey/id``); keys made by
///   this migration from older stores have negative ids and `kept` 8 (legacy: only the address,
///   status and, outside gateway traffic, the platform class are known).
/// - `policies`: every declared policy (fingerprint of the policy text, gateways and platform
///   rules; its source; when it was declared); `meta.current_policy` names the one the verdicts
///   are under.
/// - `hourly_facts`: what `hourly` stored, without `verdict` and `outcome`, with the row's
///   `key_id`; primary key `(hour, site, address, key_id, source)`. `hourly` is now a view that
///   joins each row to its key's judgement, so every query and `sql` user reads the same columns as
///   before, and `reclassify` rewrites `judgements` alone (time proportional to the keys).
/// - `evidence.key_id`: the row's key; `evidence` keeps its `verdict`, `outcome` and `rule` columns,
///   derived from the key's judgement (kept equal by `reclassify`).
///
/// Existing stores keep every count: each distinct (address, verdict, outcome, status,
/// sub-status) of `hourly` becomes a key judged as it was at ingest, under the policy the files'
/// ledger rows name (when they all name one), else a policy `recorded at ingest`.
///
/// The evidence-sampling change of the throughput issue may add columns in the same schema
/// version, in a migration of its own after this one.
enum FactsSchema {
    /// The migration id, the same on both engines.
    static let migrationID = "v4-facts"

    private static func judgementsTable(text: String, integer: String) -> String {
        """
        CREATE TABLE judgements (
            key_id \(integer) PRIMARY KEY,
            address \(text) NOT NULL,
            invalid \(integer),
            status \(integer) NOT NULL,
            substatus \(integer) NOT NULL,
            platform \(integer) NOT NULL,
            bypass \(integer),
            iis_version \(integer),
            fdid \(text),
            health_probe \(text),
            forwarded_host \(text),
            host \(text),
            forwarded_for \(text),
            scope \(text),
            kept \(integer) NOT NULL,
            verdict \(text) NOT NULL,
            outcome \(text) NOT NULL,
            rule \(text) NOT NULL
        );
        CREATE INDEX judgements_address ON judgements(address);
        """
    }

    /// The legacy keys, from the distinct judged groups of `hourly`.
    private static let legacyKeys = """
        INSERT INTO judgements (key_id, address, invalid, status, substatus, platform, bypass, iis_version, kept,
            verdict, outcome, rule)
        SELECT -ROW_NUMBER() OVER (ORDER BY address, verdict, outcome, status, substatus), address, NULL, status,
            substatus, CASE WHEN verdict = 'platform' THEN 1 ELSE 0 END, NULL, NULL, 8, verdict, outcome, ''
        FROM (SELECT DISTINCT address, verdict, outcome, status, substatus FROM hourly) AS groups;
        """

    /// `hourly` as every query reads it: the stored facts with the verdict and outcome of their key
    /// under the current policy, so `reclassify` rewrites `judgements` only.
    static let hourlyView = """
        CREATE VIEW hourly AS
        SELECT h.hour, h.site, h.address, j.verdict, j.outcome, h.status, h.substatus, h.requests, h.bytes,
            h.time_taken_sum, h.time_taken_max, h.first_seen, h.last_seen, h.source, h.key_id
        FROM hourly_facts h JOIN judgements j ON j.key_id = h.key_id;
        """

    /// The policy the ledger names, when every judged file names the same one.
    private static let recordedPolicy = """
        INSERT INTO policies (fingerprint, source, declared_at, gateways, platform_rules, options)
        SELECT CASE WHEN kinds = 1 AND named = files THEN fingerprint ELSE 'recorded-at-ingest' END,
            CASE WHEN kinds = 1 AND named = files THEN source ELSE 'recorded at ingest (before schema v4-facts)' END,
            declared, '', '', ''
        FROM (
            SELECT COUNT(*) AS files, COUNT(DISTINCT policy_fingerprint) AS kinds, COUNT(policy_fingerprint) AS named,
                MIN(policy_fingerprint) AS fingerprint, MIN(policy_source) AS source, MIN(ingested_at) AS declared
            FROM files WHERE format = 'w3c' AND status <> 'ingesting'
        ) AS ledger
        WHERE files > 0;
        """

    /// Registers the SQLite migration.
    ///
    /// - Parameter migrator: The store's migrator (``Schema``).
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration(migrationID) { db in
            try db.execute(sql: judgementsTable(text: "TEXT", integer: "INTEGER"))
            try db.execute(
                sql: """
                    CREATE TABLE policies (
                        id INTEGER PRIMARY KEY,
                        fingerprint TEXT NOT NULL UNIQUE,
                        source TEXT NOT NULL,
                        declared_at TEXT NOT NULL,
                        gateways TEXT NOT NULL,
                        platform_rules TEXT NOT NULL,
                        options TEXT NOT NULL
                    );
                    """
            )
            try db.execute(sql: legacyKeys)
            try db.execute(
                sql: """
                    CREATE TABLE hourly_facts (
                        hour TEXT NOT NULL,
                        site TEXT NOT NULL,
                        address TEXT NOT NULL,
                        status INTEGER NOT NULL,
                        substatus INTEGER NOT NULL,
                        requests INTEGER NOT NULL,
                        bytes INTEGER NOT NULL,
                        time_taken_sum INTEGER NOT NULL,
                        time_taken_max INTEGER NOT NULL,
                        first_seen TEXT NOT NULL,
                        last_seen TEXT NOT NULL,
                        source TEXT NOT NULL DEFAULT '',
                        key_id INTEGER NOT NULL,
                        PRIMARY KEY (hour, site, address, key_id, source)
                    ) WITHOUT ROWID;
                    INSERT INTO hourly_facts
                    SELECT h.hour, h.site, h.address, h.status, h.substatus, h.requests, h.bytes, h.time_taken_sum,
                        h.time_taken_max, h.first_seen, h.last_seen, h.source, j.key_id
                    FROM hourly h JOIN judgements j ON j.address = h.address AND j.verdict = h.verdict
                        AND j.outcome = h.outcome AND j.status = h.status AND j.substatus = h.substatus;
                    DROP TABLE hourly;
                    CREATE INDEX hourly_address ON hourly_facts(address, hour);
                    ALTER TABLE evidence ADD COLUMN key_id INTEGER;
                    UPDATE evidence SET key_id = (
                        SELECT j.key_id FROM judgements j WHERE j.address = evidence.address
                            AND j.verdict = evidence.verdict AND j.outcome = evidence.outcome
                            AND j.status = evidence.status AND j.substatus = evidence.substatus);
                    """
            )
            try db.execute(sql: hourlyView)
            try db.execute(sql: recordedPolicy)
            try db.execute(
                sql: """
                    INSERT INTO meta (key, value) SELECT 'current_policy', fingerprint FROM policies WHERE true
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
                    """
            )
        }
    }

    private static let text = "TEXT COLLATE \"C\""

    /// The PostgreSQL migration.
    static let postgres: (id: String, sql: String) = (
        migrationID,
        judgementsTable(text: text, integer: "BIGINT")
            + """
            CREATE TABLE policies (
                id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                fingerprint \(text) NOT NULL,
                source \(text) NOT NULL,
                declared_at \(text) NOT NULL,
                gateways \(text) NOT NULL,
                platform_rules \(text) NOT NULL,
                options \(text) NOT NULL,
                UNIQUE (fingerprint)
            );
            """ + legacyKeys
                + """
                ALTER TABLE hourly ADD COLUMN key_id BIGINT;
                UPDATE hourly h SET key_id = j.key_id FROM judgements j WHERE j.address = h.address
                    AND j.verdict = h.verdict AND j.outcome = h.outcome AND j.status = h.status AND j.substatus = h.substatus;
                ALTER TABLE hourly ALTER COLUMN key_id SET NOT NULL;
                ALTER TABLE hourly DROP CONSTRAINT hourly_pkey;
                ALTER TABLE hourly ADD PRIMARY KEY (hour, site, address, key_id, source);
                ALTER TABLE hourly DROP COLUMN verdict;
                ALTER TABLE hourly DROP COLUMN outcome;
                ALTER TABLE hourly RENAME TO hourly_facts;
                ALTER INDEX hourly_pkey RENAME TO hourly_facts_pkey;
                """ + hourlyView
                + """
                ALTER TABLE evidence ADD COLUMN key_id BIGINT;
                UPDATE evidence e SET key_id = j.key_id FROM judgements j WHERE j.address = e.address
                    AND j.verdict = e.verdict AND j.outcome = e.outcome AND j.status = e.status AND j.substatus = e.substatus;
                """ + recordedPolicy
                + """
                INSERT INTO meta (key, value) SELECT 'current_policy', fingerprint FROM policies WHERE true
                ON CONFLICT (key) DO UPDATE SET value = excluded.value;
                """
    )
}
