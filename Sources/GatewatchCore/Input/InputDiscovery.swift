import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns the paths given on the command line into the list of inputs to read.
///
/// - A regular file is read whatever its name.
/// - A directory is walked recursively, in name order, for log files: `*.log`, `*.txt`,
///   `*.gz`, `*.json`, `*.csv` and rotated names such as `*.log.1`; hidden files are skipped.
/// - A pattern with `*`, `?` or `[` is expanded with glob(3) (quote it so the shell doesn't).
/// - `-` is standard input.
///
/// Paths that cannot be read are returned as problems, so the rest of the run proceeds.
public enum InputDiscovery {
    /// The result of expanding inputs.
    public struct Result: Sendable, Equatable {
        /// The inputs to read, in order, without duplicates.
        public var paths: [String] = []
        /// Paths that matched nothing or could not be read, with the reason.
        public var problems: [InputError] = []
    }

    /// Whether a file name looks like a log inside a directory walk.
    static func looksLikeLog(_ name: String) -> Bool {
        guard !name.hasPrefix(".") else { return false }
        let lower = name.lowercased()
        for suffix in [".log", ".txt", ".gz", ".json", ".csv"] where lower.hasSuffix(suffix) { return true }
        // Rotated: access.log.1, u_ex.log.2
        if let range = lower.range(of: ".log."), lower[range.upperBound...].allSatisfy(\.isNumber) { return true }
        return false
    }

    /// A file or directory's identity: the same directory reached through a symbolic link, or a
    /// file through `current -> .`, has the same device and inode.
    struct FileID: Hashable {
        var device: UInt64
        var inode: UInt64

        /// The identity of what `path` names, following symbolic links; nil if it cannot be read.
        init?(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
        }
    }

    /// The state of one expansion: what was found, and what was visited.
    private struct Expansion {
        var result = Result()
        var seenPaths = Set<String>()
        var seenFiles = Set<FileID>()
        var seenDirectories = Set<FileID>()

        /// Adds an input unless it, or the same file under another name, was added before.
        mutating func add(_ path: String) {
            if path != "-", let id = FileID(path: path), !seenFiles.insert(id).inserted { return }
            if seenPaths.insert(path).inserted { result.paths.append(path) }
        }

        /// Walks a directory, once.
        ///
        /// A symbolic link cycle (`ln -s .. up`) or a second way into a directory already walked
        /// adds nothing. Returns how many log files the walk found (some
        /// may have been added before under another name).
        @discardableResult
        mutating func walk(_ directory: String) -> Int {
            if let id = FileID(path: directory), !seenDirectories.insert(id).inserted { return 0 }
            guard access(directory, R_OK | X_OK) == 0 else {
                result.problems.append(.cannotOpen(path: directory, errno: errno))
                return 0
            }
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
                result.problems.append(.cannotOpen(path: directory, errno: EACCES))
                return 0
            }
            var found = 0
            for name in names.sorted() where !name.hasPrefix(".") {
                let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
                if isDirectory.boolValue {
                    found += walk(path)
                } else if looksLikeLog(name) {
                    add(path)
                    found += 1
                }
            }
            return found
        }
    }

    /// Expands command-line inputs.
    ///
    /// Each directory is walked once and each file is listed once, by device and inode, so
    /// symbolic link cycles end and a file reached by two names is read once.
    ///
    /// - Parameter arguments: Files, directories, glob patterns and `-`.
    /// - Returns: The inputs and the problems found.
    public static func expand(_ arguments: [String]) -> Result {
        var expansion = Expansion()
        for argument in arguments {
            if argument == "-" {
                expansion.add("-")
                continue
            }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) {
                if isDirectory.boolValue {
                    let alreadyWalked = FileID(path: argument).map(expansion.seenDirectories.contains) ?? false
                    if expansion.walk(argument) == 0, !alreadyWalked {
                        expansion.result.problems.append(.noMatch(pattern: argument))
                    }
                } else {
                    expansion.add(argument)
                }
                continue
            }
            if argument.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) {
                let matches = glob(argument)
                if matches.isEmpty { expansion.result.problems.append(.noMatch(pattern: argument)) }
                for match in matches {
                    var matchIsDirectory: ObjCBool = false
                    if FileManager.default.fileExists(atPath: match, isDirectory: &matchIsDirectory),
                        matchIsDirectory.boolValue
                    {
                        expansion.walk(match)
                    } else {
                        expansion.add(match)
                    }
                }
                continue
            }
            expansion.result.problems.append(.cannotOpen(path: argument, errno: ENOENT))
        }
        return expansion.result
    }

    private static func glob(_ pattern: String) -> [String] {
        var state = glob_t()
        defer { globfree(&state) }
        guard Glibc.glob(pattern, 0, nil, &state) == 0 else { return [] }
        var paths: [String] = []
        for index in 0..<Int(state.gl_pathc) {
            if let pointer = state.gl_pathv[index] { paths.append(String(cString: pointer)) }
        }
        return paths.sorted()
    }
}
