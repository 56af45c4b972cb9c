import ArgumentParser
import GatewatchCore

extension Gatewatch {
    /// Reports allowlist entries and settings that do not do what they seem to.
    struct Lint: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lint",
            abstract:
                "Check an allowlist for entries that never match, shadowed rules, blocked platform probes and more.",
            discussion: "Exit codes: 0 no error-severity finding, 1 at least one, 2 bad configuration or usage."
        )

        @OptionGroup var policy: PolicyOptions

        @Option(help: "Output format: table or json.")
        var format: ReportFormat = .table

        func run() throws {
            let loaded: Policy
            let configuration: GatewatchConfiguration
            do {
                var base = try policy.configuration()
                // Unknown configuration is listed as error findings (with codes and lines), not a refusal.
                base.acceptsConfigurationErrors = true
                configuration = base
                guard !configuration.policyFiles.isEmpty else {
                    throw ValidationError(
                        "no policy to lint; pass --policy FILE or list files under 'policy:' in gatewatch.yaml"
                    )
                }
                loaded = try configuration.loadPolicy()
            } catch let error as ValidationError {
                throw error
            } catch {
                throw Gatewatch.badInput(error)
            }
            let findings = configuration.gatewayFindings() + loaded.lint()
            switch format {
            case .json: print(PolicyReport.lintJSON(findings))
            case .table: print(PolicyReport.lintTable(findings))
            }
            if findings.contains(where: { $0.severity == .error }) { throw ExitCode(1) }
        }
    }
}
