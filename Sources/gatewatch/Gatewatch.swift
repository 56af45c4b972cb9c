import ArgumentParser
import Foundation
import GatewatchCore

@main
struct Gatewatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find who reaches your backend without going through the gateway.",
        discussion: """
            Exit codes: 0 ok, 1 failure, 2 usage or bad input; commands document their own \
            codes (ingest --strict: 3).
            """,
        version: version,
        subcommands: [
            Ingest.self, Summary.self, Top.self, IP.self, Clients.self, Timeline.self, Statuses.self, Events.self,
            SQL.self, Correlate.self, WhatIf.self, Readiness.self, Report.self, Watch.self, AlertCommand.self,
            Prune.self, MigrateStore.self, Check.self, Lint.self, ConfigCommand.self, Reclassify.self,
        ]
    )

    static let version = "0.1.0"

    /// `gatewatch --version --verbose`: the version, then one line per optional library.
    static func versionReport() -> String {
        var lines = ["gatewatch \(version)", "optional libraries (loaded at run time when installed):"]
        for library in OptionalLibraryStatus.all() {
            let state = library.loaded.map { "\($0) \(library.note)" } ?? library.note
            lines.append("  " + library.feature.padding(toLength: 22, withPad: " ", startingAt: 0) + state)
        }
        return lines.joined(separator: "\n")
    }

    /// Runs the command line, mapping usage errors to exit code 2 (DESIGN.md) instead of
    /// ArgumentParser's 64.
    static func main() {
        // Past a file-size limit (ulimit -f), fail the write with EFBIG and report it, instead of
        // being killed by SIGXFSZ halfway through a commit.
        signal(SIGXFSZ, SIG_IGN)
        // `--version --verbose`: the version and which optional libraries this machine has.
        if Set(CommandLine.arguments.dropFirst()) == ["--version", "--verbose"] {
            print(versionReport())
            return
        }
        do {
            var command = try parseAsRoot()
            try command.run()
            // Output that could not be written (a full disk, a closed descriptor) is a failure,
            // not a success with nothing printed.
            if let reason = StandardOutput.flush() {
                FileHandle.standardError.write(Data("Error: writing to standard output failed: \(reason)\n".utf8))
                Foundation.exit(1)
            }
        } catch {
            // A feature whose optional library is not installed is a usage error (2), as DESIGN.md
            // has bad input.
            let code = error is OptionalLibraryError ? ExitCode(2) : exitCode(for: error)
            // Help and --version as ArgumentParser prints them (on standard output).
            if code == .success { exit(withError: error) }
            // Messages quote paths, arguments and configuration values: escaped as every text
            // from a log is before it reaches a terminal.
            let message = fullMessage(for: error)
            if !message.isEmpty {
                FileHandle.standardError.write(Data((SafeText.terminalLines(message) + "\n").utf8))
            }
            Foundation.exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}
