import ArgumentParser
import Foundation
import GatewatchCore

/// `--config`, taken once by every command that reads `gatewatch.yaml`.
struct ConfigOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "A gatewatch.yaml file (default: ./gatewatch.yaml if present).")
    var configPath: String?

    /// The configuration file: `--config`, else `gatewatch.yaml` / `gatewatch.yml` in the working
    /// directory, else `nil`.
    ///
    /// - Throws: ``ConfigurationError`` when the file cannot be read or is invalid.
    func load() throws(ConfigurationError) -> GatewatchConfiguration? {
        if let configPath { return try GatewatchConfiguration.load(path: configPath) }
        return try GatewatchConfiguration.discover(in: FileManager.default.currentDirectoryPath)
    }
}
