import ArgumentParser

extension Gatewatch {
    /// Placeholder until the query commands land.
    struct Events: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "events", shouldDisplay: false)
    }
}
