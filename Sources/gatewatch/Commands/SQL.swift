import ArgumentParser

extension Gatewatch {
    /// Placeholder until the query commands land.
    struct SQL: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "sql", shouldDisplay: false)
    }
}
