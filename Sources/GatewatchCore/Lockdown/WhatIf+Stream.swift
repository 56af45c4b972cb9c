import Foundation

extension WhatIfQuery {
    /// Runs the evaluation and writes the result to `sink`, byte for byte what
    /// `run(store:).attributed(owners, store:).render(format, limit:)` gives, in bounded memory
    /// (issue 23: 7.8 GB on a store with 3M addresses before).
    ///
    /// The pass (``pass(store:owners:format:)``) renders each affected address's entry into a
    /// scratch file; the lists are read back in their order (busiest first, sorted by SQLite on
    /// disk) and written one row at a time. `table` reads only the first `limit` rows of each list.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - format: The output format.
    ///   - limit: The most rows per list in `table` output (0 = all).
    ///   - sink: Where the text goes.
    /// - Returns: The change-pipeline verdict.
    /// - Throws: ``LockdownError/noData(path:window:)``, database and encoding errors.
    public func write(store: Store, format: OutputFormat, limit: Int = 20, to sink: OutputSink) throws -> WhatIfOutcome
    {
        try write(store: store, format: format, limit: limit, owner: nil, ownerNotes: { _ in [] }, to: sink)
    }

    /// ``write(store:format:limit:to:)`` with owners (see `Owners+Stream.swift`).
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - format: The output format.
    ///   - limit: The most rows per list in `table` output (0 = all).
    ///   - owner: Names an entry's owner, or `nil`.
    ///   - ownerNotes: The findings for the newly blocked or unenforced addresses that have an owner.
    ///   - sink: Where the text goes.
    /// - Returns: The change-pipeline verdict.
    /// - Throws: ``LockdownError/noData(path:window:)``, database and encoding errors.
    func write(
        store: Store,
        format: OutputFormat,
        limit: Int,
        owner: ((String) -> Owner?)?,
        ownerNotes: ([String]) throws -> [LintFinding],
        to sink: OutputSink
    ) throws -> WhatIfOutcome {
        let pass = try self.pass(store: store, owner: owner, format: format)
        var result = pass.result
        if owner != nil { result.findings += try ownerNotes(pass.ownedAddresses) }

        func stream(_ list: List, separator: String) throws {
            var first = true
            try pass.scratch.forEach(list: list.rawValue) { text in
                if !first { sink.write(separator) }
                first = false
                sink.write(text)
            }
        }
        switch format {
        case .json:
            // The document without its three lists, and each list written where its `[]` stands.
            var document = try JSONOutput.encode(result) + "\n"
            for (key, list) in [
                ("newly_allowed", List.newlyAllowed), ("newly_blocked", .newlyBlocked), ("unenforced", .unenforced),
            ] {
                guard let marker = document.range(of: "\"\(key)\":[]") else { continue }
                sink.write(String(document[..<marker.upperBound].dropLast()))
                try stream(list, separator: ",")
                sink.write("]")
                document = String(document[marker.upperBound...])
            }
            sink.write(document)
        case .ndjson, .csv:
            if format == .csv {
                sink.write(WhatIfResult.FlatRow.columns.map(SafeText.csv).joined(separator: ",") + "\r\n")
            }
            for list in List.allCases { try stream(list, separator: "") }
            for row in result.trailingFlatRows { sink.write(Self.flatText(row, format: format)) }
        case .table:
            let decoder = JSONDecoder()
            for list in List.allCases {
                var entries: [WhatIfEntry] = []
                try pass.scratch.forEach(list: list.rawValue, limit: limit) {
                    entries.append(try decoder.decode(WhatIfEntry.self, from: Data($0.utf8)))
                }
                switch list {
                case .newlyBlocked: result.newlyBlocked = entries
                case .unenforced: result.unenforced = entries
                case .newlyAllowed: result.newlyAllowed = entries
                }
            }
            sink.write(try result.render(.table, limit: limit))
        }
        return result.outcome
    }
}
