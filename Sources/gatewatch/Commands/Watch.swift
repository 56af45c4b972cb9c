import ArgumentParser
import Foundation
import GatewatchCore

extension Gatewatch {
    /// `gatewatch watch`: follow logs into the store, alert, and write metrics.
    struct Watch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follow log files and directories into the database, alerting as direct hits appear.",
            discussion: """
                Every --interval, PATHs are expanded again (new files are found), files whose \
                device, inode, size and mtime are unchanged are skipped, and the rest are ingested \
                as by 'gatewatch ingest' (an unfinished last line waits for the next poll). Renames, \
                rotation and a .log replaced by its .log.gz add nothing twice. Then the alert rules \
                are evaluated (see 'gatewatch alert check') and the --metrics-file is rewritten.

                SIGINT or SIGTERM stops after the current file is committed; a second signal exits \
                at once (nothing is lost: the next run resumes). Alerts go to the sinks of the rules \
                file and flags (default: NDJSON on standard output); progress and problems go to \
                standard error. A failing sink is reported and retried with the next alert, never \
                stopping ingestion.

                Exit codes: 0 stopped by a signal; 1 the database or metrics file cannot be written; \
                2 usage error, bad configuration or rules file.
                """
        )

        @OptionGroup var store: StoreOptions
        @OptionGroup var policy: PolicyOptions
        @OptionGroup var alerting: AlertOptions

        @Option(help: ArgumentHelp("Time between polls (e.g. 5s, 500ms, 1m).", valueName: "duration"))
        var interval = "5s"

        @Option(
            name: .customLong("metrics-file"),
            help: ArgumentHelp(
                "Write Prometheus metrics here after every poll (node_exporter textfile collector: name it *.prom).",
                valueName: "path"
            )
        )
        var metricsFile: String?

        @Flag(name: .customLong("no-alerts"), help: "Only ingest (and write metrics); evaluate no alert rules.")
        var noAlerts = false

        @OptionGroup var reading: ReadingOptions

        @Flag(name: .shortAndLong, help: "Print only problems on standard error (alerts still go to their sinks).")
        var quiet = false

        @Argument(help: ArgumentHelp("Files, directories or quoted glob patterns to follow.", valueName: "path"))
        var paths: [String] = []

        func validate() throws {
            if paths.isEmpty { throw ValidationError("name at least one file, directory or glob to follow") }
            if paths.contains("-") {
                throw ValidationError("watch follows files; pipe standard input to 'gatewatch ingest -' instead")
            }
            try NumericOption.checkDuration(interval, in: 0.05...86_400, option: "--interval", example: "5s")
        }

        func run() throws {
            let configuration: GatewatchConfiguration
            let options: IngestOptions
            let rules: AlertRuleSet
            let attribution: OwnerAttribution
            do {
                configuration = try policy.configuration()
                options = try reading.ingestOptions(configuration: configuration)
                rules = try alerting.ruleSet()
                attribution = try OwnerAttribution.load(
                    serviceTags: configuration.serviceTags,
                    names: configuration.addressNames
                )
            } catch {
                throw Gatewatch.badInput(error)
            }
            if let loaded = options.policy { Gatewatch.warnAboutAcceptedErrors(in: loaded) }

            var watchOptions = WatchOptions(paths: paths)
            watchOptions.intervalSeconds = AlertDuration.seconds(interval) ?? 5
            watchOptions.metricsFile = metricsFile
            let errors = StandardError()
            let quiet = quiet
            if !quiet, options.policy?.judgesNothing == true, options.gateways.isEmpty {
                // Alerts on direct traffic cannot fire over requests nobody judged.
                errors.write(
                    "warning: nothing to judge against: give --gateway or --policy (requests are stored as "
                        + "'unjudged', and no direct-traffic alert can fire)\n"
                )
            }
            do {
                let database = try store.open(.create, config: policy.config)
                do {
                    // The store's verdicts and the files watch adds are under one policy (issue 21).
                    try PolicyRegistry.admit(PolicyDeclaration(options: options), into: database)
                } catch let mismatch as PolicyMismatch {
                    errors.write(error: mismatch)
                    throw ExitCode(2)
                }
                let watcher = try Watcher(
                    store: database,
                    ingestOptions: options,
                    options: watchOptions,
                    evaluator: noAlerts ? nil : AlertEvaluator(store: database, rules: rules, attribution: attribution),
                    dispatcher: noAlerts ? nil : AlertDispatcher(sinks: rules.sinks)
                ) { event in
                    switch event {
                    case .ingested(let file):
                        guard !quiet else { return }
                        var line = "\(file.status.rawValue) \(SafeText.terminal(file.path)): \(file.requests) requests"
                        if let last = file.last { line += ", up to \(last)" }
                        errors.write(line + "\n")
                    case .deferred(let path):
                        if !quiet { errors.write("waiting for '\(SafeText.terminal(path))' to be complete\n") }
                    case .alert(let alert, let results):
                        if !quiet { errors.write("alert \(SafeText.terminal(alert.rule)): \(alert.summary)\n") }
                        _ = AlertOptions.reportFailures(results, rule: alert.rule)
                    case .skipped(let path, let reason):
                        if !quiet {
                            errors.write("note: skipped '\(SafeText.terminal(path))': \(SafeText.terminal(reason))\n")
                        }
                    case .problem(let text):
                        errors.write("error: \(SafeText.terminal(text))\n")
                    }
                }
                StopSignal.install()
                if !quiet {
                    errors.write(
                        "watching \(paths.count) path\(paths.count == 1 ? "" : "s") every \(interval) into \(SafeText.terminal(database.path)); SIGINT or SIGTERM stops\n"
                    )
                }
                try watcher.run()
                if !quiet { errors.write("stopped\n") }
            } catch {
                errors.write(error: error)
                throw ExitCode.failure
            }
        }
    }
}
