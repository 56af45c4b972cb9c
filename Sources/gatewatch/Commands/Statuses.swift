import ArgumentParser

extension Gatewatch {
    /// Placeholder until the query commands land.
    struct Statuses: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "statuses", shouldDisplay: false)
    }
}
