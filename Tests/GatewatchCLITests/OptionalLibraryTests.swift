import Foundation
import Testing

@testable import GatewatchCore

/// ISA-L and libpq are loaded at run time, never needed to build.
///
/// The binary works without them (zlib inflates; a `postgres://` store is refused with exit 2 and
/// the package to install) and uses them when they are there. Each test checks the branch this machine is on; where it can (root, `unshare`), it
/// also hides the library from a child `gatewatch` by bind-mounting /dev/null over the file, in a
/// private mount namespace, so that both branches run on a machine that has the library.
@Suite("optional libraries")
struct OptionalLibraryTests {
    static let unreachable = "postgres://gatewatch@127.0.0.1:1/none"
    static let libpqMissing = "fleet mode needs libpq: apt-get install libpq5"

    /// The file a library was loaded from in this process (the test loads it first), for hiding.
    static func loadedFile(containing name: String) -> String? {
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return nil }
        return maps.split(separator: "\n").lazy.compactMap { line -> String? in
            guard let slash = line.firstIndex(of: "/") else { return nil }
            let path = String(line[slash...])
            return path.contains(name) ? path : nil
        }.first
    }

    /// `gatewatch arguments` with `file` replaced by /dev/null, or nil when this machine cannot
    /// do that (not root, no unshare).
    static func runHiding(
        _ file: String,
        _ arguments: [String],
        environment: [String: String] = [:]
    ) throws
        -> CLI.Result?
    {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else { return nil }
        let quoted = ([CLI.binary] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let script = "mount --bind /dev/null '\(file)' || exit 97; exec \(quoted.joined(separator: " "))"
        let result = try CLI.runProgram(
            "/usr/bin/unshare",
            ["--mount", "--propagation", "private", "/bin/sh", "-c", script],
            environment: environment
        )
        return result.status == 97 ? nil : result
    }

    @Test("--version --verbose names each optional library and whether it loaded")
    func versionVerbose() throws {
        let result = try CLI.run(["--version", "--verbose"])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let inflate = try #require(lines.first { $0.contains("gzip inflate (ISA-L)") })
        let fleet = try #require(lines.first { $0.contains("fleet mode (libpq)") })
        #expect(inflate.contains(ISAL.available == nil ? "zlib inflates instead" : "libisal.so.2 loaded"))
        #expect(fleet.contains(Libpq.available == nil ? "postgres:// stores are refused" : "libpq.so.5 loaded"))
        #expect(try CLI.run(["--version"]).stdout == "0.1.0\n")
    }

    @Test("a postgres:// store without libpq is exit 2 and names the package; with it, the server is tried")
    func fleetNeedsLibpq() throws {
        let result = try CLI.run(["summary", "--db", Self.unreachable])
        if Libpq.available == nil {
            #expect(result.status == 2)
            #expect(result.stderr.contains(Self.libpqMissing), "\(result.stderr)")
        } else {
            #expect(result.status == 1)
            #expect(result.stderr.contains("cannot open database 'postgres://gatewatch@127.0.0.1:1/none'"))
            if let file = Self.loadedFile(containing: "libpq.so"),
                let hidden = try Self.runHiding(file, ["ingest", "--db", Self.unreachable, "-"])
            {
                #expect(hidden.status == 2, "\(hidden.stderr)")
                #expect(hidden.stderr.contains(Self.libpqMissing), "\(hidden.stderr)")
            } else {
                print(
                    "!! OptionalLibraryTests: libpq could not be hidden here (needs root and unshare); "
                        + "the missing-libpq branch was not run"
                )
            }
        }
    }

    @Test("ingest reads gzip with ISA-L when it is installed and with zlib when it is not, the same requests")
    func inflaterFallback() throws {
        let directory = try CLI.scratch()
        let log = CLI.repositoryRoot.appendingPathComponent("SampleLogs/backend/u_ex261120.log.gz").path
        func ingest(
            _ name: String,
            hiding file: String? = nil,
            environment: [String: String] = [:]
        ) throws
            -> CLI.Result?
        {
            let arguments = ["ingest", "--verbose", "--json", "--db", "\(directory)/\(name).db", log]
            if let file { return try Self.runHiding(file, arguments, environment: environment) }
            return try CLI.run(arguments, environment: environment)
        }
        let preferred = try #require(try ingest("preferred"))
        #expect(preferred.status == 0, "\(preferred.stderr)")
        let requests = try #require(Self.requests(preferred.stdout))
        let zlib = try #require(try ingest("zlib", environment: ["GATEWATCH_INFLATE": "zlib"]))
        #expect(Self.requests(zlib.stdout) == requests)
        // A value that names no inflater (a typo) is said to be ignored, not silently dropped.
        let typo = try #require(try ingest("typo", environment: ["GATEWATCH_INFLATE": "zilb"]))
        #expect(Self.requests(typo.stdout) == requests)
        #expect(typo.stderr.contains("GATEWATCH_INFLATE='zilb' ignored (isal or zlib)"), "\(typo.stderr)")
        if ISAL.available != nil {
            #expect(preferred.stderr.contains("gzip inflate: ISA-L (libisal.so.2)"), "\(preferred.stderr)")
            #expect(zlib.stderr.contains("gzip inflate: zlib (GATEWATCH_INFLATE=zlib)"), "\(zlib.stderr)")
            if let file = Self.loadedFile(containing: "libisal.so"), let hidden = try ingest("hidden", hiding: file) {
                #expect(hidden.status == 0, "\(hidden.stderr)")
                #expect(
                    hidden.stderr.contains("gzip inflate: zlib (ISA-L (libisal.so.2) not found"),
                    "\(hidden.stderr)"
                )
                #expect(Self.requests(hidden.stdout) == requests)
            }
        } else {
            print("!! OptionalLibraryTests: ISA-L is not installed; ingest used zlib (apt-get install libisal2)")
            #expect(
                preferred.stderr.contains("gzip inflate: zlib (ISA-L (libisal.so.2) not found"),
                "\(preferred.stderr)"
            )
        }
    }

    static func requests(_ json: String) -> Int? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            return nil
        }
        return object["requests"] as? Int
    }
}
