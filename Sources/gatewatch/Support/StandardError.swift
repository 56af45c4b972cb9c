import Foundation
import GatewatchCore

/// Writes to standard error.
struct StandardError {
    var isTerminal: Bool { isatty(2) != 0 }

    func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// Writes `Error: ` and the error's message, escaped (it may quote paths and file contents).
    func write(error: any Error) {
        write(errorMessage: String(describing: error))
    }

    /// Writes `Error: ` and `message`, escaped (it may quote paths and file contents).
    func write(errorMessage message: String) {
        write("Error: \(SafeText.terminalLines(message))\n")
    }
}
