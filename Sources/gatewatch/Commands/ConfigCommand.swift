import ArgumentParser
import GatewatchCore

extension Gatewatch {
    /// Shows and checks `gatewatch.yaml`.
    struct ConfigCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "config",
            abstract: "Show or validate the effective configuration (flags > gatewatch.yaml > defaults).",
            subcommands: [Show.self, Validate.self]
        )

        /// Prints the effective configuration.
        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Print the effective configuration as YAML.")

            @OptionGroup var policy: PolicyOptions

            func run() throws {
                do {
                    print(try policy.configuration().yaml)
                } catch {
                    throw Gatewatch.badInput(error)
                }
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
