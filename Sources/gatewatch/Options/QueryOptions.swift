import ArgumentParser
import Foundation
import GatewatchCore

/// `--cidr`, `--site`, `--limit`, `--tz`, shared by the query commands.
struct QueryOptions: ParsableArguments {
    @Option(help: "Only client addresses in this block (repeatable): 203.0.113.0/24, 2001:db8::/32, 198.51.100.7.")
    var cidr: [String] = []

    @Option(help: "Only this site (the log's s-sitename).")
    var site: String?

    @Option(
        help:
            "Only rows ingested by this host (--source of ingest; fleet stores hold several). Applies to aggregates and evidence."
    )
    var source: String?

    @Option(
        parsing: .unconditional,
        help: "At most N rows; 0 shows all (default: 20 in table output, all in json, ndjson and csv)."
    )
    var limit: Int?

    @Option(help: "IANA time zone for displayed times and day buckets, e.g. Europe/Paris (default: UTC).")
    var tz: String = "UTC"

    /// `--config`: its `names:` label addresses, and its `db:` names the store.
    @OptionGroup var config: ConfigOptions

    /// The address names of the configuration file, if any.
    func addressNames() throws -> AddressNames {
        AddressNames(try configuration()?.addressNames ?? [:])
    }

    /// The configuration file (`--config`, else ./gatewatch.yaml), if any.
    func configuration() throws -> GatewatchConfiguration? {
        do {
            return try config.load()
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func validate() throws {
        _ = try blocks()
        _ = try timeZone()
        try NumericOption.checkLimit(limit)
    }

    func blocks() throws -> [CIDR] {
        try cidr.map { text in
            guard let block = CIDR(text) else {
                throw ValidationError("cannot read --cidr '\(text)'; use an address or a block such as 203.0.113.0/24")
            }
            return block
        }
    }

    func timeZone() throws -> TimeZone {
        if tz.uppercased() == "UTC" || tz == "Z" { return QueryFilter.utc }
        guard let zone = TimeZone(identifier: tz) else {
            throw ValidationError(
                "unknown --tz '\(tz)'; use an IANA zone name such as Europe/Paris or America/New_York"
            )
        }
        return zone
    }

    /// The library filter for a command.
    ///
    /// - Parameters:
    ///   - time: The time-window options.
    ///   - format: The output format, which picks the default limit.
    ///   - tableLimit: The default limit in table output (0 = all).
    /// - Returns: The filter.
    /// - Throws: `ValidationError` for bad options.
    func filter(time: TimeRangeOptions, format: OutputFormat, tableLimit: Int = 20) throws -> QueryFilter {
        QueryFilter(
            range: try time.resolve(),
            cidrs: try blocks(),
            site: site,
            limit: limit ?? (format == .table ? tableLimit : 0),
            timeZone: try timeZone(),
            source: source
        )
    }
}

extension VerdictSelection: ExpressibleByArgument {}
extension TopMeasure: ExpressibleByArgument {}
extension TimelineBucket: ExpressibleByArgument {}
extension ClientState: ExpressibleByArgument {}

/// Writes command output to standard output.
func emit(_ text: String) {
    print(text, terminator: "")
}
