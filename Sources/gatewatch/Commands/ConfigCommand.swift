import ArgumentParser

extension Gatewatch {
    /// Placeholder until the allowlist engine lands.
    struct ConfigCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "config", shouldDisplay: false)
    }
}
