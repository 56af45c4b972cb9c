import ArgumentParser

extension Gatewatch {
    /// Placeholder until the query commands land.
    struct Timeline: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "timeline", shouldDisplay: false)
    }
}
