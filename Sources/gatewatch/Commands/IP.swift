import ArgumentParser

extension Gatewatch {
    /// Placeholder until the query commands land.
    struct IP: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ip", shouldDisplay: false)
    }
}
