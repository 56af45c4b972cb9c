import ArgumentParser
import GatewatchCore

extension Gatewatch {
    /// `gatewatch whatif`: what a proposed allowlist or gateway set would do to the traffic on record.
    struct WhatIf: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "whatif",
            abstract:
                "Show what a proposed allowlist or gateway set would block, allow or break, using the stored history.",
            discussion: """
                The proposed policy is --policy/--gateway over gatewatch.yaml (as for 'check'); the current \
                policy is the one the history was classified with at ingest. No log is read again: every \
                stored client address is evaluated once. Lists addresses newly blocked (with endpoints, user \
                agents, last seen), direct callers that are served today and would be cut off once the policy \
                is enforced, addresses newly allowed, platform traffic the policy would refuse (Always On, \
                health checks, warm-up, the 168.63.129.16 probe), declared gateways the policy denies, and \
                the lint findings of the proposed policy.

                Exit codes: 0 nothing that is served today would be refused; 4 non-platform traffic that was \
                served in the window would be refused, or a declared gateway is denied; 5 platform traffic \
                would be refused (wins over 4); 1 failure (no database, no data in the window); 2 usage or \
                a policy file that cannot be read.
                """
        )

        @OptionGroup var policy: PolicyOptions
        @OptionGroup var store: StoreOptions
        @OptionGroup var time: TimeRangeOptions
        @OptionGroup var anchor: AnchorOptions
        @OptionGroup var output: OutputOptions

        @Option(
            parsing: .unconditional,
            help: "At most N addresses per group in table output; 0 shows all (default 20)."
        )
        var limit: Int = 20

        @Option(
            name: .customLong("values"),
            parsing: .unconditional,
            help: "Endpoints and user agents listed per address (default 3; 0 = all)."
        )
        var valuesPerAddress: Int = 3

        @Flag(
            name: .customLong("include-history"),
            help:
                "Judge direct requests served before enforcement began on their site as breaks too (by default they are history)."
        )
        var includeHistory = false

        @Option(
            name: .customLong("platform-rules"),
            help: ArgumentHelp("A YAML file of platform-traffic rules (user agents, addresses).", valueName: "file")
        )
        var platformRules: String?

        func validate() throws {
            try NumericOption.checkLimit(limit)
            try NumericOption.checkLimit(valuesPerAddress, option: "--values")
        }

        func run() throws {
            _ = try time.resolve()
            let configuration: GatewatchConfiguration
            let declaration: PolicyDeclaration
            do {
                configuration = try policy.configuration()
                guard !configuration.policyFiles.isEmpty || !configuration.gateways.isEmpty else {
                    throw ValidationError(
                        "no proposed policy; pass --policy FILE (the allowlist you plan to deploy) and/or --gateway ADDRESS"
                    )
                }
                declaration = try Gatewatch.Reclassify.declaration(configuration, platformRules: platformRules)
            } catch let error as ValidationError {
                throw error
            } catch {
                throw Gatewatch.badInput(error)
            }
            let database = try store.open(.readOnly, config: policy.config)
            let owners: OwnerAttribution
            do {
                owners = try OwnerAttribution.load(
                    serviceTags: configuration.serviceTags,
                    names: configuration.addressNames
                )
            } catch {
                throw Gatewatch.badInput(error)
            }
            let query = WhatIfQuery(
                declaration: declaration,
                range: try anchor.resolve(time, store: database),
                valuesPerAddress: valuesPerAddress,
                includeHistory: includeHistory
            )
            // Streamed (issue 23): the lists go out as the scratch file gives them back.
            let sink = OutputSink.standardOutput()
            let outcome: WhatIfOutcome
            do {
                outcome = try query.write(
                    store: database,
                    format: output.format,
                    limit: limit,
                    owners: owners,
                    to: sink
                )
            } catch let refusal as RejudgementError {
                StandardError().write(error: refusal)
                throw ExitCode(2)
            }
            sink.flush()
            let code = outcome.exitCode
            if code != 0 { throw ExitCode(code) }
        }
    }
}
