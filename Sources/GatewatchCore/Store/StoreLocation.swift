import Foundation

/// Where a store lives, parsed once from a `--db` value, `$GATEWATCH_DB` or `db:` of
/// `gatewatch.yaml`.
public enum StoreLocation: Sendable, Equatable {
    /// One SQLite file (written as a path, or `sqlite:PATH`).
    case sqlite(path: String)
    /// A shared PostgreSQL database (`postgres://…` or `postgresql://…`), for a fleet of ingesters.
    case postgres(url: String)

    /// The path used when neither `--db` nor `$GATEWATCH_DB` nor `db:` is given.
    public static let defaultPath = "gatewatch.db"

    /// Parses a `--db` value.
    ///
    /// - Parameter text: A file path, `sqlite:PATH`, or a `postgres://` / `postgresql://` URL.
    /// - Throws: ``StoreError/cannotOpen(path:message:)`` (with any password removed) for a value
    ///   that looks like a URL Gatewatch does not open: opening it as a file would create
    ///   `mysql:/…` (and print its password).
    public init(_ text: String) throws(StoreError) {
        if let problem = Self.urlProblem(text) {
            throw StoreError.cannotOpen(path: Self.redacted(text), message: problem)
        }
        if Self.isPostgresURL(text) {
            self = .postgres(url: text)
        } else {
            self = .sqlite(path: Self.filePath(text))
        }
    }

    /// The file of a value that is not a URL: `sqlite:PATH` without its prefix, else the value.
    private static func filePath(_ text: String) -> String {
        text.hasPrefix("sqlite:") ? String(text.dropFirst("sqlite:".count)) : text
    }

    /// The file the store lives in, or `nil` for a store on a server.
    public var filePath: String? {
        switch self {
        case .sqlite(let path): path
        case .postgres: nil
        }
    }

    /// The location for messages: the path, or the URL without its password.
    public var display: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let url): Self.redacted(url)
        }
    }

    /// Whether a value names a store on a server (a shared fleet store) rather than a file.
    ///
    /// - Parameter text: A `--db` value.
    /// - Returns: `true` for a server URL.
    public static func isServerURL(_ text: String) -> Bool { isPostgresURL(text) }

    /// Whether a value is a PostgreSQL URL (`postgres://` or `postgresql://`).
    static func isPostgresURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// Why a `--db` / `db:` value that looks like a URL is not one Gatewatch opens, or `nil`.
    ///
    /// - Parameter text: The value.
    /// - Returns: What is wrong (another scheme, `postgres:` without `//`), or `nil`.
    public static func urlProblem(_ text: String) -> String? {
        if isPostgresURL(text) || text.hasPrefix("sqlite:") { return nil }
        let lowered = text.lowercased()
        if lowered.hasPrefix("postgres:") || lowered.hasPrefix("postgresql:") {
            return "a PostgreSQL store is a URL that starts with postgres:// or postgresql:// (lower case)"
        }
        if text.contains("://") {
            return "only postgres:// and postgresql:// URLs are stores; anything else is a SQLite file path"
        }
        return nil
    }

    /// A value as it may be shown: a URL without its password, anything else as it is.
    ///
    /// - Parameter text: A `--db` / `db:` value.
    /// - Returns: The text to show.
    public static func redacted(_ text: String) -> String {
        PostgresConnection.redacted(text)
    }

    /// The accepted forms of a `db:` value, for configuration errors.
    public static let acceptedForms = "a SQLite file path, sqlite:PATH, or a postgres:// or postgresql:// URL"

    /// Resolves the `--db` value to use: the explicit option, else `$GATEWATCH_DB`, else the
    /// configuration file's `db:`, else `./gatewatch.db`.
    ///
    /// - Parameters:
    ///   - option: The `--db` value, if given.
    ///   - configured: The `db:` of `gatewatch.yaml`, if any (below the environment); only asked
    ///     for when neither the option nor the environment names a store.
    ///   - environment: The process environment.
    /// - Returns: The path or URL to use.
    /// - Throws: What `configured` throws.
    public static func resolve(
        option: String?,
        configured: () throws -> String? = { nil },
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) rethrows -> String {
        if let option, !option.isEmpty { return option }
        if let fromEnvironment = environment["GATEWATCH_DB"], !fromEnvironment.isEmpty { return fromEnvironment }
        if let configured = try configured(), !configured.isEmpty { return configured }
        return defaultPath
    }
}
