import ArgumentParser

extension Gatewatch {
    /// Placeholder until the allowlist engine lands.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "check", shouldDisplay: false)
    }
}
