import ArgumentParser

extension Gatewatch {
    /// Placeholder until the query commands land.
    struct Clients: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "clients", shouldDisplay: false)
    }
}
