import Foundation
import Testing

/// Tests of `Scripts/folder-deps.py`, which draws the dependency graph between the folders.
///
/// The folders are those of `Sources/GatewatchCore` (issue 22, "no cycles, one home per
/// concept"). Skipped where python3 is missing.
@Suite struct FolderDependencyTests {
    static let python: String? = ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    static let script = TestSupport.repositoryRoot.appendingPathComponent("Scripts/folder-deps.py").path

    /// Runs the script on `root` and returns its exit status and standard output.
    static func graph(of root: String) throws -> (Int32, String) {
        let (status, output, _) = try TestSupport.run(python ?? "/usr/bin/python3", [script, root])
        return (status, String(decoding: output, as: UTF8.self))
    }

    /// Writes `files` (path relative to the root → Swift source) under a scratch directory.
    static func tree(_ files: [String: String], label: String = #function) throws -> String {
        let root = try TestSupport.scratchDirectory(label)
        for (relative, text) in files {
            let url = URL(fileURLWithPath: root).appendingPathComponent(relative)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(),
                withIntermediateDirectories: true
            )
            try Data(text.utf8).write(to: url)
        }
        return root
    }

    @Test(.enabled(if: python != nil)) func aCycleFailsAndNamesOneReferencePerEdge() throws {
        let root = try Self.tree([
            "Formats/Parser.swift": "struct Parser { let days = Calendar.days() }\n",
            "Support/Calendar.swift": "enum Calendar {\n    static func days() -> Int { Parser.zero }\n}\n",
            "Support/Zero.swift": "extension Parser { static let zero = 0 }\n",
        ])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (status, output) = try Self.graph(of: root)
        #expect(status == 1)
        #expect(output.contains("  Formats -> Support\n"))
        #expect(output.contains("  Support -> Formats\n"))
        #expect(output.contains("Cycle: Formats -> Support -> Formats"))
        #expect(output.contains("Formats -> Support  e.g. Formats/Parser.swift:1: Calendar"))
        #expect(output.contains("Support -> Formats  e.g. Support/Calendar.swift:2: Parser"))
    }

    @Test(.enabled(if: python != nil)) func commentsStringsAndNestedTypesAreNotReferences() throws {
        let root = try Self.tree([
            "Formats/Parser.swift": """
            struct Parser {
                // Calendar is mentioned only here,
                /* and here: Calendar, */
                let text = "and in a string: Calendar"
                let days = Calendars.count
                let inner = Inner.self
            }
            """,
            "Support/Calendar.swift": """
            enum Calendar {
                struct Inner {}
            }
            public final class Calendars { static let count = 0 }
            """,
        ])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (status, output) = try Self.graph(of: root)
        // `Calendars` is a reference; `Calendar` only in comments and strings is not, and the
        // nested `Inner` is not a top-level declaration of Support.
        #expect(status == 0)
        #expect(output.contains("  Formats -> Support\n"))
        #expect(output.contains("  Support -> (none)\n"))
        #expect(output.contains("No cycles."))
        let (_, reversed) = try Self.graph(of: root)
        #expect(reversed == output, "the output is deterministic")
    }

    /// The real tree, which is to have no folder cycles.
    ///
    /// Cycles remain until the store seam and the ingest split of issue 22 land (Store ⇄ Pipeline,
    /// Formats ⇄ Store through the gateway consumers' `flush(db:)`, Support ⇄ Store/Input through
    /// `OptionalLibraryStatus.all()`), so the check is a known issue that prints the cycles; once
    /// the graph is acyclic `withKnownIssue` fails, and the `#expect` is then to stand on its own.
    @Test(.enabled(if: python != nil)) func sourcesHaveNoFolderCycles() throws {
        let root = TestSupport.repositoryRoot.appendingPathComponent("Sources/GatewatchCore").path
        let (status, output) = try Self.graph(of: root)
        #expect(status == 0 || status == 1, "folder-deps.py failed: \(output)")
        #expect(output.contains("Folder dependencies"))
        withKnownIssue("folder cycles remain (issue 22)") {
            #expect(status == 0, "\(output)")
        }
    }
}
