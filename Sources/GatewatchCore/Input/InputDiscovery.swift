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

    /// Expands command-line inputs.
    ///
    /// - Parameter arguments: Files, directories, glob patterns and `-`.
    /// - Returns: The inputs and the problems found.
    public static func expand(_ arguments: [String]) -> Result {
        var result = Result()
        var seen = Set<String>()
        func add(_ path: String) {
            if seen.insert(path).inserted { result.paths.append(path) }
        }
        for argument in arguments {
            if argument == "-" {
                add("-")
                continue
            }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) {
                if isDirectory.boolValue {
                    let found = walk(argument, problems: &result.problems)
                    if found.isEmpty { result.problems.append(.noMatch(pattern: argument)) }
                    found.forEach(add)
                } else {
                    add(argument)
                }
                continue
            }
            if argument.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) {
                let matches = glob(argument)
                if matches.isEmpty { result.problems.append(.noMatch(pattern: argument)) }
                for match in matches {
                    var matchIsDirectory: ObjCBool = false
                    if FileManager.default.fileExists(atPath: match, isDirectory: &matchIsDirectory),
                        matchIsDirectory.boolValue
                    {
                        walk(match, problems: &result.problems).forEach(add)
                    } else {
                        add(match)
                    }
                }
                continue
            }
            result.problems.append(.cannotOpen(path: argument, errno: ENOENT))
        }
        return result
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

    private static func walk(_ directory: String, problems: inout [InputError]) -> [String] {
        guard access(directory, R_OK | X_OK) == 0 else {
            problems.append(.cannotOpen(path: directory, errno: errno))
            return []
        }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            problems.append(.cannotOpen(path: directory, errno: EACCES))
            return []
        }
        var paths: [String] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                paths += walk(path, problems: &problems)
            } else if looksLikeLog(name) {
                paths.append(path)
            }
        }
        return paths
    }
}
