import GRDB

/// The gateway-side tables, as the migration `gateway-v1`.
///
/// - `gateway_minutes`: gateway traffic per minute × gateway × API × operation × method × backend
///   path template × backend status × response code. Kept like `hourly`: forever, mergeable.
/// - `gateway_callers`: gateway traffic per hour × caller address × API × response code (the
///   gateway's own clients, for `top --side gateway` and `ip`).
/// - `gateway_requests`: one row per gateway record that called the backend, with its request
///   id and exact backend path, for `correlate`. Bounded: rows older than
///   ``GatewaySchema/requestRetentionDays`` before the newest stored record are deleted at the
///   end of each gateway input.
/// - `backend_gateway_requests`: one row per *backend* request whose verdict is `gateway`
///   (filled by the W3C ingest path), with the request id read from a custom field when the
///   backend logs one. `correlate` reads it.
///
/// Times are ISO 8601 UTC text like the rest of the schema; `time_ms` columns add the
/// millisecond precision the gateway logs carry (Unix milliseconds).
enum GatewaySchema {
    /// Days of per-request gateway rows kept, counted back from the newest stored record.
    static let requestRetentionDays: Int64 = 30

    /// The value stored in `backend_status` when the gateway did not call the backend (it
    /// answered itself: 401, 429, cache hit).
    static let noBackendCall: Int64 = -1

    /// Registers the `gateway-v1` migration.
    ///
    /// - Parameter migrator: The migrator (``Schema/migrator``).
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("gateway-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE gateway_minutes (
                        minute TEXT NOT NULL,
                        gateway TEXT NOT NULL,
                        api_id TEXT NOT NULL,
                        operation_id TEXT NOT NULL,
                        method TEXT NOT NULL,
                        backend_path TEXT NOT NULL,
                        backend_status INTEGER NOT NULL,
                        response_code INTEGER NOT NULL,
                        requests INTEGER NOT NULL,
                        response_bytes INTEGER NOT NULL,
                        duration_ms_sum INTEGER NOT NULL,
                        duration_ms_max INTEGER NOT NULL,
                        backend_time_ms_sum INTEGER NOT NULL,
                        first_seen TEXT NOT NULL,
                        last_seen TEXT NOT NULL,
                        PRIMARY KEY (minute, gateway, api_id, operation_id, method, backend_path, backend_status,
                            response_code)
                    ) WITHOUT ROWID;

                    CREATE TABLE gateway_callers (
                        hour TEXT NOT NULL,
                        address TEXT NOT NULL,
                        api_id TEXT NOT NULL,
                        response_code INTEGER NOT NULL,
                        requests INTEGER NOT NULL,
                        backend_calls INTEGER NOT NULL,
                        response_bytes INTEGER NOT NULL,
                        first_seen TEXT NOT NULL,
                        last_seen TEXT NOT NULL,
                        PRIMARY KEY (hour, address, api_id, response_code)
                    ) WITHOUT ROWID;
                    CREATE INDEX gateway_callers_address ON gateway_callers(address, hour);

                    CREATE TABLE gateway_requests (
                        id INTEGER PRIMARY KEY,
                        time TEXT NOT NULL,
                        time_ms INTEGER NOT NULL,
                        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
                        line INTEGER NOT NULL,
                        gateway TEXT NOT NULL,
                        request_id TEXT,
                        caller TEXT NOT NULL,
                        method TEXT NOT NULL,
                        backend_method TEXT NOT NULL,
                        backend_path TEXT NOT NULL,
                        backend_status INTEGER NOT NULL,
                        response_code INTEGER NOT NULL
                    );
                    CREATE INDEX gateway_requests_time ON gateway_requests(time_ms);
                    CREATE INDEX gateway_requests_request_id ON gateway_requests(request_id);

                    CREATE TABLE backend_gateway_requests (
                        id INTEGER PRIMARY KEY,
                        time TEXT NOT NULL,
                        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
                        line INTEGER NOT NULL,
                        site TEXT NOT NULL,
                        address TEXT NOT NULL,
                        method TEXT NOT NULL,
                        path TEXT NOT NULL,
                        status INTEGER NOT NULL,
                        substatus INTEGER NOT NULL,
                        request_id TEXT,
                        request_id_field TEXT
                    );
                    CREATE INDEX backend_gateway_requests_time ON backend_gateway_requests(time);
                    CREATE INDEX backend_gateway_requests_request_id ON backend_gateway_requests(request_id);
                    """
            )
        }
    }
}
