import ArgumentParser
import Foundation
import GatewatchCore

/// The exit code of `gatewatch alert check` when at least one alert fired.
let alertsFiredExitCode: Int32 = 4

/// `--rules` and the sink flags, shared by `alert check`, `alert test` and `watch`.
struct AlertOptions: ParsableArguments {
    @Option(
        name: .customLong("rules"),
        help: ArgumentHelp(
            "A YAML file of alert rules and sinks (default: ./\(AlertRuleSet.defaultFileName) if present, else the built-in rules).",
            valueName: "file"
        )
    )
    var rulesPath: String?

    @Option(
        name: .customLong("alert-file"),
        help: ArgumentHelp("Append alerts as NDJSON to this file (repeatable).", valueName: "path")
    )
    var alertFiles: [String] = []

    @Option(help: ArgumentHelp("POST each alert to this URL (repeatable).", valueName: "url"))
    var webhook: [String] = []

    @Option(help: "The webhook body: json (the alert), slack ({\"text\": …}) or teams (a MessageCard).")
    var payload: WebhookPayload = .json

    @Option(
        name: .customLong("webhook-timeout"),
        help: ArgumentHelp("Seconds per webhook attempt (e.g. 5s).", valueName: "duration")
    )
    var webhookTimeout = "5s"

    @Option(
        name: .customLong("webhook-retries"),
        parsing: .unconditional,
        help: "Webhook retries after a failed attempt (backoff 0.5 s, doubling)."
    )
    var webhookRetries = 2

    @Option(
        name: .customLong("exec"),
        help: ArgumentHelp(
            "Run this program for each alert, the alert JSON on standard input (repeatable).",
            valueName: "program"
        )
    )
    var programs: [String] = []

    @Flag(
        name: .customLong("stdout"),
        help: "Also print alerts as NDJSON on standard output (the default when no other sink is configured)."
    )
    var toStandardOutput = false

    func validate() throws {
        for url in webhook where !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            throw ValidationError("--webhook '\(url)' is not an http:// or https:// URL")
        }
        try NumericOption.checkDuration(webhookTimeout, in: 0.1...3600, option: "--webhook-timeout", example: "5s")
        guard (0...10).contains(webhookRetries) else {
            throw ValidationError("--webhook-retries must be from 0 to 10")
        }
    }

    /// The rules file (named, discovered, or the defaults) plus the sinks given as flags.
    func ruleSet() throws -> AlertRuleSet {
        var set: AlertRuleSet
        if let rulesPath {
            set = try AlertRuleSet.load(path: rulesPath)
        } else if FileManager.default.fileExists(atPath: AlertRuleSet.defaultFileName) {
            set = try AlertRuleSet.load(path: AlertRuleSet.defaultFileName)
        } else {
            set = .defaults
        }
        if toStandardOutput, !set.sinks.contains(.stdout) { set.sinks.append(.stdout) }
        set.sinks += alertFiles.map { .file(path: $0) }
        for url in webhook {
            var settings = WebhookSettings(url: url)
            settings.payload = payload
            settings.timeoutSeconds = AlertDuration.seconds(webhookTimeout) ?? 5
            settings.retries = webhookRetries
            set.sinks.append(.webhook(settings))
        }
        set.sinks += programs.map { .exec(ExecSettings(command: [$0])) }
        if set.sinks.isEmpty { set.sinks = [.stdout] }
        return set
    }

    /// Prints failed deliveries to standard error; returns whether any failed.
    static func reportFailures(_ results: [DeliveryResult], rule: String) -> Bool {
        var failed = false
        for result in results {
            guard let error = result.error else { continue }
            failed = true
            StandardError().write(
                "error: alert '\(SafeText.terminal(rule))' → \(SafeText.terminal(result.sink)): \(SafeText.terminal(error.description))\n"
            )
        }
        return failed
    }
}

extension Gatewatch {
    /// `gatewatch alert`: evaluate alert rules once, or test the sinks.
    struct AlertCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "alert",
            abstract: "Evaluate alert rules against the database (for cron), or send a test alert.",
            subcommands: [Check.self, Test.self]
        )

        /// `gatewatch alert check`.
        struct Check: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "check",
                abstract: "Evaluate the alert rules once and send what fires.",
                discussion: """
                    Requests are judged in each rule's window ending at the newest request in the \
                    database (or now, with 'anchor: now' in the rules file). What fired is recorded, \
                    so running this from cron alerts once per new event, not once per run.

                    An alert a sink failed to take (or that a run ending early never sent) is sent \
                    to that sink again on the next run. --dry-run records nothing and exits as a \
                    real run would.

                    Exit codes: 0 nothing fired; 4 alerts fired or were sent again (and were \
                    delivered); 1 the database could not be read or a sink failed (what fired is \
                    recorded and sent again next time); 2 usage error or bad rules file.
                    """
            )

            @OptionGroup var config: ConfigOptions
            @OptionGroup var store: StoreOptions
            @OptionGroup var alerting: AlertOptions

            @Flag(name: .customLong("dry-run"), help: "Do not record what fired: the same alerts fire again next time.")
            var dryRun = false

            @Option(
                name: .customLong("service-tags"),
                help:
                    "A ServiceTags_*.json file whose ApiManagement.* tags gateway_drift recognises (default: service_tags: of ./gatewatch.yaml)."
            )
            var serviceTags: String?

            func run() throws {
                let rules: AlertRuleSet
                let attribution: OwnerAttribution
                do {
                    rules = try alerting.ruleSet()
                    let configuration = try config.load()
                    attribution = try OwnerAttribution.load(
                        serviceTags: serviceTags ?? configuration?.serviceTags,
                        names: configuration?.addressNames ?? [:]
                    )
                } catch {
                    throw Gatewatch.badInput(error)
                }
                var deliveries: [PendingDelivery]
                var evaluator: AlertEvaluator
                do {
                    // Checking a database that does not exist is a mistake, not an empty store.
                    let database = try store.open(.existing, config: config)
                    evaluator = AlertEvaluator(store: database, rules: rules)
                    evaluator.attribution = attribution
                    // First what earlier runs failed to deliver (a sink was down, the process
                    // died while sending), then what fires now.
                    deliveries = dryRun ? [] : try evaluator.pendingDeliveries()
                    for delivery in deliveries {
                        StandardError().write(
                            "note: sending again alert '\(SafeText.terminal(delivery.alert.rule))' fired at "
                                + "\(delivery.alert.firedAt) to \(SafeText.terminal(delivery.sinks.joined(separator: ", "))) "
                                + "(not delivered before)\n"
                        )
                    }
                    deliveries += try evaluator.fire(now: Int64(Date().timeIntervalSince1970), dryRun: dryRun)
                } catch {
                    StandardError().write(error: error)
                    throw ExitCode.failure
                }
                let dispatcher = AlertDispatcher(sinks: rules.sinks)
                var failed = false
                for delivery in deliveries {
                    let results = dispatcher.send(delivery.alert, to: delivery.sinks)
                    if AlertOptions.reportFailures(results, rule: delivery.alert.rule) { failed = true }
                    do {
                        try evaluator.recordDelivery(delivery, results: results)
                    } catch {
                        StandardError().write(error: error)
                        failed = true
                    }
                }
                if failed { throw ExitCode.failure }
                if !deliveries.isEmpty { throw ExitCode(alertsFiredExitCode) }
            }
        }

        /// `gatewatch alert test`.
        struct Test: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "test",
                abstract:
                    "Send a test alert through every configured sink, so a quiet alert stream can be told apart from a broken one.",
                discussion: "Exit codes: 0 every sink accepted it; 1 a sink failed; 2 usage error or bad rules file."
            )

            @OptionGroup var alerting: AlertOptions

            func run() throws {
                let rules: AlertRuleSet
                do {
                    rules = try alerting.ruleSet()
                } catch {
                    throw Gatewatch.badInput(error)
                }
                let alert = GatewatchCore.Alert.test(now: Int64(Date().timeIntervalSince1970))
                let results = AlertDispatcher(sinks: rules.sinks).send(alert)
                let failed = AlertOptions.reportFailures(results, rule: alert.rule)
                for result in results where result.error == nil {
                    StandardError().write(
                        "ok: \(SafeText.terminal(result.sink)) (\(result.attempts) attempt\(result.attempts == 1 ? "" : "s"))\n"
                    )
                }
                if failed { throw ExitCode.failure }
            }
        }
    }
}

extension WebhookPayload: ExpressibleByArgument {}
