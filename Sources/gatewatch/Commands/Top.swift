import ArgumentParser

extension Gatewatch {
    /// Placeholder until the query commands land.
    struct Top: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "top", shouldDisplay: false)
    }
}
