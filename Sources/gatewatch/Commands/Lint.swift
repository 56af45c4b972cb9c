import ArgumentParser

extension Gatewatch {
    /// Placeholder until the allowlist engine lands.
    struct Lint: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "lint", shouldDisplay: false)
    }
}
