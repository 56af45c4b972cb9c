import ArgumentParser
import Foundation
import GatewatchCore

extension Gatewatch {
    /// Shows and checks `gatewatch.yaml`.
    struct ConfigCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "config",
            abstract: "Show or validate the effective configuration (flags > gatewatch.yaml > defaults).",
            subcommands: [Show.self, Validate.self]
        )

        /// Prints the effective configuration, and the policy the store's verdicts are under.
        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Print the effective configuration as YAML, and the policy the store's verdicts are under.",
                discussion: """
                    After the YAML, comment lines name the store, the policy its verdicts are under \
                    (source, fingerprint, when it was declared) and whether this configuration declares \
                    the same policy; when it does not, 'gatewatch reclassify' with this configuration \
                    re-judges the history (and 'ingest' refuses the configuration until then). A store \
                    that does not exist or cannot be opened is reported, not an error. --json prints \
                    the same as one JSON document (the YAML as a string).
                    """
            )

            @OptionGroup var policy: PolicyOptions
            @OptionGroup var store: StoreOptions

            @Flag(help: "Print the configuration and the store's policy as JSON.")
            var json = false

            func run() throws {
                let configuration: GatewatchConfiguration
                do {
                    configuration = try policy.configuration()
                } catch {
                    throw Gatewatch.badInput(error)
                }
                let status = PolicyStatus(configuration: configuration, store: store, config: policy.config)
                if json {
                    print(try JSONOutput.encode(ShowDocument(yaml: configuration.yaml, policy: status), pretty: true))
                } else {
                    print(configuration.yaml)
                    print(status.text, terminator: "")
                }
            }
        }

        /// `config show --json`.
        struct ShowDocument: Encodable {
            var yaml: String
            var policy: PolicyStatus
        }

        /// The store's policy against the configuration's.
        struct PolicyStatus: Encodable {
            /// The store, as resolved (`--db`, `$GATEWATCH_DB`, `db:`, `./gatewatch.db`).
            var store: String
            /// Why the store's policy is not known (no store yet, cannot be opened).
            var storeNote: String?
            /// The policy the store's verdicts are under.
            var storePolicy: PolicyRecord?
            /// The configuration's policy, as `ingest` would declare it.
            var configPolicy: Declared?
            /// Why the configuration's policy is not known (a file that cannot be read).
            var configNote: String?
            /// The configuration declares another policy than the store's: `reclassify` is needed.
            var reclassifyNeeded: Bool

            struct Declared: Encodable {
                var fingerprint: String
                var source: String
            }

            enum CodingKeys: String, CodingKey {
                case store
                case storeNote = "store_note"
                case storePolicy = "store_policy"
                case configPolicy = "config_policy"
                case configNote = "config_note"
                case reclassifyNeeded = "reclassify_needed"
            }

            init(
                configuration: GatewatchConfiguration,
                store: StoreOptions,
                config: ConfigOptions
            ) {
                do {
                    let declaration = try Reclassify.declaration(configuration, platformRules: nil)
                    configPolicy = Declared(fingerprint: declaration.fingerprint, source: declaration.source)
                } catch {
                    configNote = "the policy cannot be loaded: \(error) ('gatewatch config validate' says more)"
                }
                self.store = (try? StoreLocation(try store.resolvedPath(config: config)).display) ?? "-"
                do {
                    let location = try StoreLocation(try store.resolvedPath(config: config))
                    if let file = location.filePath, !FileManager.default.fileExists(atPath: file) {
                        storeNote = "no store yet"
                    } else {
                        storePolicy = try PolicyRegistry.current(store: Store(location: location, readOnly: true))
                        if storePolicy == nil { storeNote = "the store holds no judged history yet" }
                    }
                } catch {
                    storeNote = "the store cannot be opened: \(error)"
                }
                reclassifyNeeded =
                    storePolicy != nil && configPolicy != nil
                    && storePolicy?.fingerprint != configPolicy?.fingerprint
            }

            /// YAML comment lines, so the output stays valid YAML.
            var text: String {
                var lines = ["store: \(store)"]
                if let storePolicy {
                    lines.append("verdicts under: \(storePolicy.source)")
                    lines.append("  fingerprint: \(storePolicy.fingerprint.prefix(12))")
                    lines.append("  declared at: \(storePolicy.declaredAt)")
                } else if let storeNote {
                    lines.append("verdicts under: - (\(storeNote))")
                }
                if let configPolicy {
                    lines.append("this configuration: \(configPolicy.source)")
                    lines.append("  fingerprint: \(configPolicy.fingerprint.prefix(12))")
                } else if let configNote {
                    lines.append("this configuration: - (\(configNote))")
                }
                if reclassifyNeeded {
                    lines.append(
                        "the store's verdicts are under another policy: run 'gatewatch reclassify' with this "
                            + "configuration to re-judge the history (ingest refuses it until then, or use "
                            + "'ingest --reclassify')"
                    )
                } else if storePolicy != nil, configPolicy != nil {
                    lines.append("the store's verdicts are under this configuration's policy")
                }
                return lines.map { "# " + SafeText.terminal($0) + "\n" }.joined()
            }
        }

        /// Loads the configuration and every file it names.
        struct Validate: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Check the configuration and load every policy file it names.",
                discussion: "Exit codes: 0 valid, 2 invalid."
            )

            @OptionGroup var policy: PolicyOptions

            func run() throws {
                do {
                    let configuration = try policy.configuration()
                    let loaded = try configuration.loadPolicy()
                    let origin = configuration.path.map { "'\($0)'" } ?? "defaults (no gatewatch.yaml)"
                    print(
                        "configuration \(SafeText.terminal(origin)) is valid; policy: \(SafeText.terminal(loaded.source))"
                    )
                } catch {
                    throw Gatewatch.badInput(error)
                }
            }
        }
    }
}
