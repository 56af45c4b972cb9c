import ArgumentParser
import GatewatchCore

@main
struct Gatewatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find who reaches your backend without going through the gateway.",
        version: "0.1.0",
        subcommands: [Ingest.self, Summary.self, Check.self, Lint.self, ConfigCommand.self]
    )
}
