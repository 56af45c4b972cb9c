import ArgumentParser
import GatewatchCore

extension Gatewatch {
    /// `gatewatch correlate`: prove that backend traffic from gateway addresses came through the gateway.
    struct Correlate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reconcile the backend's requests from gateway addresses with the gateway's own logs.",
            discussion: """
                With a request id logged on both sides (an IIS custom field holding the gateway's \
                request id), requests are joined exactly (method "request-id"). Otherwise backend \
                requests and gateway backend calls are paired per method × path within --window \
                after removing the detected clock skew: the result is statistical. Only the period \
                both sources cover is compared.

                The JSON form is a contract (extended, never broken):
                  {"method": "request-id|statistical", "backend_from_gateway": N, "matched": N,
                   "unmatched_backend": N, "unmatched_gateway": N, "coverage": 0.0-1.0,
                   "skew_seconds": X, "unmatched": [{"time": "…", "address": "…", "method": "…",
                   "path": "…", "status": N, "file": "…", "line": N}], ...}
                ndjson and csv list the unmatched requests of both sides.
                """
        )

        @OptionGroup var config: ConfigOptions
        @OptionGroup var store: StoreOptions
        @OptionGroup var time: TimeRangeOptions
        @OptionGroup var output: OutputOptions

        @Option(help: "Clock-skew window for pairing: 2s, 1500ms.")
        var window = "2s"

        @Option(help: "Join exactly on this backend field (the IIS custom field with the gateway's request id).")
        var requestIDField: String?

        @Option(
            parsing: .unconditional,
            help: "The most unmatched requests listed per side (counts are always complete)."
        )
        var limit = 1000

        func validate() throws {
            try NumericOption.checkLimit(limit, zeroMeans: "list none")
            do {
                _ = try CorrelationOptions.parseWindow(window)
            } catch let error as CorrelationError {
                throw ValidationError(error.description)
            }
        }

        func run() throws {
            var options = CorrelationOptions()
            options.range = try time.resolve()
            options.windowMilliseconds = try CorrelationOptions.parseWindow(window)
            options.requestIDField = requestIDField
            options.listLimit = limit
            let database = try store.open(.readOnly, config: config)
            let report = try Correlation.run(store: database, options: options)
            switch output.format {
            case .json: print(try JSONOutput.encode(report))
            case .ndjson: print(try report.renderNDJSON(), terminator: "")
            case .csv: print(report.renderCSV(), terminator: "")
            case .table: print(report.renderText(), terminator: "")
            }
        }
    }
}
