import ArgumentParser
import Foundation
import GatewatchCore

extension Gatewatch {
    /// `gatewatch reclassify`: re-judges the stored history under a declared policy.
    struct Reclassify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reclassify",
            abstract: "Re-judge the whole store under a policy (--policy/--gateway/--config), without reading any log.",
            discussion: """
                The store keeps the facts of every request (client address, platform class, the headers App \
                Service rules test, status) as judgement keys; verdicts, outcomes and rules are derived from \
                the current policy. reclassify judges every distinct key under the declared policy in one \
                transaction, rewrites the judgements that changed ('hourly' reads each row's verdict from its \
                key; evidence rows of changed keys are rewritten), and records the policy as the one the \
                verdicts are under ('summary', 'report', 'config show' name it). No alert is fired for history.

                A policy that reads facts the store does not keep (X-Forwarded-For, the Host header or \
                <location> scopes when the logs were ingested under a policy that did not read them, other \
                platform rules) is refused: it needs a re-ingest.

                Exit codes: 0 done; 1 failure; 2 usage, a policy file that cannot be read, or a policy that \
                needs a re-ingest.
                """
        )

        @OptionGroup var policy: PolicyOptions
        @OptionGroup var store: StoreOptions

        @Option(
            name: .customLong("platform-rules"),
            help: ArgumentHelp("A YAML file of platform-traffic rules (user agents, addresses).", valueName: "file")
        )
        var platformRules: String?

        @Flag(help: "Print the result as JSON.")
        var json = false

        func run() throws {
            let configuration: GatewatchConfiguration
            let declaration: PolicyDeclaration
            do {
                configuration = try policy.configuration()
                declaration = try Self.declaration(configuration, platformRules: platformRules)
            } catch {
                throw Gatewatch.badInput(error)
            }
            let database = try store.open(.existing, config: policy.config)
            let result: ReclassifyResult
            do {
                result = try Reclassifier(declaration: declaration).run(store: database)
            } catch let refusal as RejudgementError {
                StandardError().write(error: refusal)
                throw ExitCode(2)
            }
            if json {
                print(try JSONOutput.encode(result, pretty: true))
            } else {
                print(Self.render(result), terminator: "")
            }
        }

        /// The declaration of a configuration, as `ingest` builds it.
        static func declaration(
            _ configuration: GatewatchConfiguration,
            platformRules: String?
        ) throws
            -> PolicyDeclaration
        {
            var options = IngestOptions()
            options.policy = try configuration.loadPolicy()
            if let rulesPath = platformRules ?? configuration.platformRules {
                options.platformRules = try PlatformRules.load(path: rulesPath)
            }
            options.gateways = configuration.gateways
            return PolicyDeclaration(options: options)
        }

        static func render(_ result: ReclassifyResult) -> String {
            var text = ""
            if let previous = result.previous {
                text += "from: \(SafeText.terminal(previous.label))\n"
            }
            text += "to:   \(SafeText.terminal(result.current.label))\n"
            text += "judgement keys: \(result.keys), changed: \(result.changedKeys)\n"
            if result.moves.isEmpty {
                text += "no request changes verdict or outcome\n"
            } else {
                text += "requests moved:\n"
                for move in result.moves {
                    text += "  \(move.text): \(move.requests) requests from \(move.addresses) addresses\n"
                }
            }
            for note in result.notes { text += "note: \(SafeText.terminal(note))\n" }
            return text
        }
    }
}
