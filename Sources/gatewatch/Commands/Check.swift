import ArgumentParser
import Foundation
import GatewatchCore

extension Gatewatch {
    /// The output format of `check` and `lint`.
    enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
        case table
        case json
    }

    /// Explains what the allowlist does with each address.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract:
                "Explain what the allowlist does with each address: verdict, deciding rule, layer and logged status.",
            discussion: "Exit codes: 0 ok, 2 bad configuration or usage."
        )

        @OptionGroup var policy: PolicyOptions

        @Option(name: .customLong("xff"), help: "The X-Forwarded-For value the request carries.")
        var forwardedFor: String?

        @Option(help: "The Host header (selects the App Service SCM rules for *.scm.* hosts).")
        var host: String?

        @Option(help: "The URL path (selects <location> and sub-directory web.config scopes).")
        var url: String?

        @Option(name: .customLong("user-agent"), help: "The User-Agent (platform probes skip App Service rules).")
        var userAgent: String?

        @Option(
            name: .customLong("header"),
            help: "Another header as name=value, e.g. x-azure-fdid=<guid>. Repeatable."
        )
        var headers: [String] = []

        @Option(help: "Output format: table or json.")
        var format: ReportFormat = .table

        @Argument(help: "The client addresses to explain.")
        var addresses: [String]

        func run() throws {
            let loaded: Policy
            let accepted: Bool
            do {
                // IIS answers unknown configuration with 500.19: show that as the verdict, not a refusal.
                var configuration = try policy.configuration()
                accepted = configuration.acceptsConfigurationErrors
                configuration.acceptsConfigurationErrors = true
                loaded = try configuration.loadPolicy()
            } catch {
                throw Gatewatch.badInput(error)
            }
            // App Service has no 500.19: a verdict over a key Gatewatch does not know would be a guess,
            // so an unknown key is refused there as ingest refuses it (unless --accept-config-errors).
            if !accepted, let unknown = loaded.loadFindings.first(where: { $0.code == "UNKNOWN_KEY" }) {
                StandardError().write("Error: \(SafeText.terminal("\(unknown.location): \(unknown.message)"))\n")
                StandardError().write(
                    "note: Gatewatch does not guess what unknown configuration means; fix it (gatewatch lint lists "
                        + "every case), or pass --accept-config-errors to ignore the key\n"
                )
                throw ExitCode(2)
            }
            Gatewatch.warnAboutAcceptedErrors(in: loaded)
            var headerValues: [String: String] = [:]
            for header in headers {
                let parts = header.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else {
                    throw ValidationError("'\(header)' is not name=value; pass e.g. --header x-azure-fdid=<guid>")
                }
                headerValues[parts[0].lowercased()] = String(parts[1])
            }
            let template = PolicyRequest(
                address: IPAddress(ipv4: 0),
                forwardedFor: forwardedFor,
                host: host,
                path: url,
                userAgent: userAgent,
                headers: headerValues
            )
            let results = loaded.check(addresses, template: template)
            switch format {
            case .json: print(PolicyReport.checkJSON(results))
            case .table: print(PolicyReport.checkTable(results))
            }
        }
    }

    /// Prints a configuration or policy error and exits with status 2.
    static func badInput(_ error: any Error) -> ExitCode {
        let errors = StandardError()
        errors.write(error: error)
        if let policyError = error as? PolicyError, policyError.lintCode != nil {
            errors.write(
                "note: Gatewatch does not guess what unknown configuration means; fix it (gatewatch lint lists "
                    + "every case), or pass --accept-config-errors to evaluate it as IIS would (500.19)\n"
            )
        }
        return ExitCode(2)
    }

    /// Names, on standard error, the unknown configuration a policy was loaded with
    /// (`--accept-config-errors`, or `check`, which shows what IIS does with it).
    static func warnAboutAcceptedErrors(in policy: GatewatchCore.Policy) {
        let errors = StandardError()
        for finding in policy.loadFindings where PolicyError.acceptableCodes.contains(finding.code) {
            errors.write("warning: \(SafeText.terminal("\(finding.location): \(finding.message)"))\n")
        }
    }
}
