import GRDB

/// Facts and judgements apart (issue 21), as the migration `v4-facts` on both engines (SQLite here,
/// PostgreSQL in ``PostgresSchema/allMigrations``).
///
/// - `judgements`: one row per distinct judgement key — a client address with the request facts any
///   policy Gatewatch reads can depend on (platform class, built-in platform agent, the logged IIS
///   version, the App Service filter headers, and the Host / X-Forwarded-For / `<location>` scope
///   when `kept` says so), status and sub-status — with its verdict, outcome and deciding rule under
///   the current policy, and its `requests` (the sum of its `hourly_facts` rows, kept by ingest and
///   `--reingest`, so `reclassify` counts what moves without reading the facts). `key_id` is a stable hash of the key (``JudgementKey/id``); keys made by
///   this migration from older stores have negative ids and `kept` 8 (legacy: only the address,
///   status and, outside gateway traffic, the platform class are known).
/// - `policies`: every declared policy (fingerprint of the policy text, gateways and platform
///   rules; its source; when it was declared); `meta.current_policy` names the one the verdicts
///   are under.
/// - `hourly_facts`: what `hourly` stored, without `verdict` and `outcome`, with the row's
///   `key_id`; primary key `(hour, site, address, key_id, source)`. `hourly` is now a view that
///   joins each row to its key's judgement, so every query and `sql` user reads the same columns as
///   before, and `reclassify` rewrites `judgements` alone (time proportional to the keys).
/// - `evidence.key_id`: the row's key; `evidence`'s `verdict`, `outcome` and `rule` are its key's
///   judgement (a view over `evidence_rows`, see ``evidenceView``).
///
/// Existing stores keep every count: each distinct (address, verdict, outcome, status,
/// sub-status) of `hourly` becomes a key judged as it was at ingest, under the policy the files'
/// ledger rows name (when they all name one), else a policy `recorded at ingest`.
///
/// The throughput issue (23) adds its part at the end of the same migration: `direct_minutes`,
/// the exact per-minute count of direct requests that alert rules read (evidence may be sampled),
/// and `evidence` as a view over `evidence_rows`, `judgements` and `user_agents` (the store's size).
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
            rule \(text) NOT NULL,
            requests \(integer) NOT NULL DEFAULT 0
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

    /// Each key's requests: the sum of its `hourly_facts` rows (ingest adds, `--reingest` takes
    /// away), so `reclassify` counts the requests that move from the keys alone.
    private static let keyRequests = """
        UPDATE judgements SET requests = s.requests
        FROM (SELECT key_id, SUM(requests) AS requests FROM hourly_facts GROUP BY key_id) AS s
        WHERE judgements.key_id = s.key_id;
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

    /// `direct_minutes`: direct requests per minute, judgement key and source.
    ///
    /// What alert rules count: every direct request, whether or not its evidence row is kept; from
    /// the evidence of existing stores, which holds every direct request. `minute` is the minute's start in Unix
    /// seconds (an integer: 4 bytes where the text took 20, on the table with the most rows per
    /// request), and the key names the address (`judgements.address`).
    private static func directMinutesTable(text: String, integer: String) -> String {
        """
        CREATE TABLE direct_minutes (
            minute \(integer) NOT NULL,
            key_id \(integer) NOT NULL,
            source \(text) NOT NULL DEFAULT '',
            requests \(integer) NOT NULL,
            PRIMARY KEY (minute, key_id, source)
        )
        """
    }

    /// Also gives legacy keys the rule their evidence names (per-rule counts read the key's rule).
    ///
    /// `minute` is the engine's expression of a row's minute (Unix seconds) from its `time`.
    private static func directMinutesFromEvidence(minute: String) -> String {
        """
        INSERT INTO direct_minutes (minute, key_id, source, requests)
        SELECT \(minute), key_id, source, COUNT(*) FROM evidence
        WHERE key_id IS NOT NULL GROUP BY substr(time, 1, 16), key_id, source;
        UPDATE judgements SET rule = COALESCE(
            (SELECT MIN(e.rule) FROM evidence e WHERE e.key_id = judgements.key_id), '')
        WHERE key_id < 0 AND rule = '';
        """
    }

    /// `evidence` as a view over `evidence_rows`, `judgements` and `user_agents`.
    ///
    /// `evidence_rows` holds what `evidence` stored, without the columns its judgement key holds
    /// (`verdict`, `outcome`, `rule`) and with the user agent as an id into `user_agents` (a few
    /// dozen distinct texts stood in ~65 bytes of every row); the view has the columns `evidence`
    /// had, so `reclassify` no longer rewrites evidence. The index on `time`
    /// alone goes: time windows are read per address (`evidence_address`) or scan a bounded sample.
    ///
    /// `user_agents.id`: a stable hash of the text (``AgentID``, non-negative) for rows written
    /// from now on; texts of existing stores get negative ids.
    static let evidenceView = """
        CREATE VIEW evidence AS
        SELECT e.id, e.time, e.file_id, e.line, e.site, e.address, e.forwarded_for, e.method, e.uri_stem, e.uri_query,
            e.status, e.substatus, a.value AS user_agent, e.host, j.verdict, j.outcome, j.rule, e.source, e.key_id
        FROM evidence_rows e JOIN judgements j ON j.key_id = e.key_id LEFT JOIN user_agents a ON a.id = e.agent_id;
        """

    private static func userAgentsTable(text: String, integer: String) -> String {
        """
        CREATE TABLE user_agents (
            id \(integer) PRIMARY KEY,
            value \(text) NOT NULL
        );
        INSERT INTO user_agents (id, value)
        SELECT -ROW_NUMBER() OVER (ORDER BY user_agent), user_agent
        FROM (SELECT DISTINCT user_agent FROM evidence WHERE user_agent IS NOT NULL) AS agents;

        """
    }

    /// The same on both engines, in place (SQLite drops columns since 3.35).
    private static func evidenceRows(text: String, integer: String) -> String {
        userAgentsTable(text: text, integer: integer) + """
            ALTER TABLE evidence ADD COLUMN agent_id \(integer);
            UPDATE evidence SET agent_id = (SELECT a.id FROM user_agents a WHERE a.value = evidence.user_agent);
            DROP INDEX evidence_time;
            ALTER TABLE evidence DROP COLUMN user_agent;
            ALTER TABLE evidence DROP COLUMN verdict;
            ALTER TABLE evidence DROP COLUMN outcome;
            ALTER TABLE evidence DROP COLUMN rule;
            ALTER TABLE evidence RENAME TO evidence_rows;

            """
    }

    /// Inventory's direct counts and key, the files' evidence mode.
    ///
    /// `inventory.direct`, `served`, `blocked`: of a row's requests, the direct ones, and of those
    /// the served and the blocked (the report's top values); `NULL` in rows from before (unknown:
    /// the report then reads the evidence, complete in those stores). Inventory's primary key
    /// starts with the address (every lookup names addresses; a window's scan reads the table
    /// anyway), so the `(address, day)` index, as large as the table, goes.
    ///
    /// `files.evidence`: how the file's direct requests were kept as evidence (`sample N`, `all`,
    /// `none`, `mixed`); `NULL` for files from before (every row was kept).
    private static let inventorySQLite = """
        ALTER TABLE files ADD COLUMN evidence TEXT;
        CREATE TABLE inventory_v4 (
            day TEXT NOT NULL,
            address TEXT NOT NULL,
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            requests INTEGER NOT NULL,
            direct INTEGER,
            served INTEGER,
            blocked INTEGER,
            PRIMARY KEY (address, day, kind, value)
        ) WITHOUT ROWID;
        INSERT INTO inventory_v4 (day, address, kind, value, requests)
        SELECT day, address, kind, value, requests FROM inventory;
        DROP TABLE inventory;
        ALTER TABLE inventory_v4 RENAME TO inventory;
        """

    /// The same on PostgreSQL.
    private static let inventoryPostgres = """
        ALTER TABLE files ADD COLUMN evidence \(text);
        ALTER TABLE inventory ADD COLUMN direct BIGINT;
        ALTER TABLE inventory ADD COLUMN served BIGINT;
        ALTER TABLE inventory ADD COLUMN blocked BIGINT;
        ALTER TABLE inventory DROP CONSTRAINT inventory_pkey;
        ALTER TABLE inventory ADD PRIMARY KEY (address, day, kind, value);
        DROP INDEX inventory_address;
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
            try db.execute(sql: keyRequests)
            try db.execute(sql: hourlyView)
            try db.execute(sql: recordedPolicy)
            try db.execute(
                sql: """
                    INSERT INTO meta (key, value) SELECT 'current_policy', fingerprint FROM policies WHERE true
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
                    """
            )
            // The throughput issue's part of this schema version (issue 23), at its end.
            try db.execute(
                sql: directMinutesTable(text: "TEXT", integer: "INTEGER") + " WITHOUT ROWID;\n"
                    + directMinutesFromEvidence(minute: "CAST(strftime('%s', substr(MIN(time), 1, 16)) AS INTEGER)")
                    + inventorySQLite + evidenceRows(text: "TEXT", integer: "INTEGER") + evidenceView
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
                """ + keyRequests + hourlyView
                + """
                ALTER TABLE evidence ADD COLUMN key_id BIGINT;
                UPDATE evidence e SET key_id = j.key_id FROM judgements j WHERE j.address = e.address
                    AND j.verdict = e.verdict AND j.outcome = e.outcome AND j.status = e.status AND j.substatus = e.substatus;
                """ + recordedPolicy
                + """
                INSERT INTO meta (key, value) SELECT 'current_policy', fingerprint FROM policies WHERE true
                ON CONFLICT (key) DO UPDATE SET value = excluded.value;
                """ + directMinutesTable(text: text, integer: "BIGINT") + ";\n"
            + directMinutesFromEvidence(
                minute: "CAST(EXTRACT(EPOCH FROM CAST(substr(MIN(time), 1, 16) || ':00Z' AS TIMESTAMPTZ)) AS BIGINT)"
            )
            + inventoryPostgres + evidenceRows(text: text, integer: "BIGINT")
            + "ALTER INDEX evidence_pkey RENAME TO evidence_rows_pkey;\n" + evidenceView
    )
}
