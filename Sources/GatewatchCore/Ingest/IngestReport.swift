/// One malformed line, kept as a sample for the run summary.
public struct MalformedSample: Sendable, Codable, Equatable {
    /// The file the line is in.
    public var path: String
    /// The 1-based line number.
    public var line: Int
    /// Why the line is malformed.
    public var reason: String
    /// The start of the line (at most 200 bytes), decoded as UTF-8 with replacement; escape it
    /// before printing.
    public var text: String
}

/// What happened to one input.
public enum FileStatus: String, Sendable, Codable {
    /// New content, ingested.
    case new
    /// Content already in the ledger: nothing added.
    case known
    /// A file ingested before has grown: only its new lines were ingested.
    case grown
    /// Reading failed part-way; what was read before the failure was kept.
    case failed
    /// The input is not a format this command reads.
    case unsupported
}

/// The outcome of ingesting one input.
public struct FileReport: Sendable, Codable, Equatable {
    /// The path as given (`-` for standard input).
    public var path: String
    /// New, known, grown, failed or unsupported.
    public var status: FileStatus
    /// The detected format (`w3c`).
    public var format: String
    /// Whether the content was gzip-compressed.
    public var compressed: Bool
    /// Lines read in this run (including directives and blank lines).
    public var lines: Int
    /// Request records ingested in this run.
    public var requests: Int
    /// Records that were read but not counted as requests, with the reason in ``warnings``.
    public var skipped: Int
    /// Lines that are not valid records.
    public var malformed: Int
    /// Lines that hold no record by design.
    ///
    /// W3C directives, comments and blank lines; for gateway logs, lines that only continue or
    /// close a multi-line record. For a W3C log, `lines == requests + skipped + malformed +
    /// otherLines`.
    public var otherLines = 0
    /// Decompressed bytes read in this run.
    public var bytes: Int64
    /// Raw (compressed) bytes read in this run.
    public var rawBytes: Int64
    /// The earliest request time in this run (ISO 8601 UTC).
    public var first: String?
    /// The latest request time in this run.
    public var last: String?
    /// The error that ended the file, if any.
    public var error: String?
    /// Things the operator should know (skipped lines, spoofable choices, resumed offsets).
    public var warnings: [String]
    /// Whether the store holds this input as read under another policy or layout than this run's
    /// (see ``warnings``): its rows keep the earlier judgement until `--reingest` replaces them.
    public var readUnderOtherSettings = false
}

extension FileReport {
    /// The report of an input that was never read.
    ///
    /// A path that does not exist, a directory or pattern that matched no log: it counts as failed, with the reason, like a file that
    /// failed part-way.
    ///
    /// - Parameter problem: Why the input was not read.
    public init(unread problem: InputError) {
        self.init(path: problem.path, status: .failed, error: problem.description)
    }

    /// The report of an input of which nothing was read (yet).
    init(path: String, status: FileStatus, error: String? = nil) {
        self.init(
            path: path,
            status: status,
            format: "w3c",
            compressed: false,
            lines: 0,
            requests: 0,
            skipped: 0,
            malformed: 0,
            bytes: 0,
            rawBytes: 0,
            first: nil,
            last: nil,
            error: error,
            warnings: []
        )
    }
}

/// The summary of an ingest run.
public struct IngestReport: Sendable, Codable, Equatable {
    /// Every input, in the order processed.
    public var files: [FileReport] = []
    /// The first malformed lines of the run.
    public var malformedSamples: [MalformedSample] = []
    /// Requests per verdict in this run.
    public var byVerdict: [String: Int] = Dictionary(uniqueKeysWithValues: Verdict.allCases.map { ($0.rawValue, 0) })
    /// Direct requests refused by the backend in this run.
    public var blocked = 0
    /// Direct requests the backend answered in this run.
    public var served = 0
    /// Platform requests (Always On, health checks, probes) the allowlist denies.
    public var platformDenied = 0
    /// Wall-clock seconds.
    public var elapsedSeconds = 0.0
    /// Things about the whole run the operator should know (such as a spoofable client-address choice).
    public var notes: [String] = []
    /// Ledger rows `--reingest` removed before the inputs were read again.
    public var filesReingested = 0

    /// Inputs with new content.
    public var filesNew: Int { files.count { $0.status == .new } }
    /// Inputs already known.
    public var filesKnown: Int { files.count { $0.status == .known } }
    /// Inputs that had grown.
    public var filesGrown: Int { files.count { $0.status == .grown } }
    /// Inputs that failed.
    public var filesFailed: Int { files.count { $0.status == .failed } }
    /// Inputs that are not a log format Gatewatch reads.
    public var filesUnsupported: Int { files.count { $0.status == .unsupported } }
    /// Lines read.
    public var lines: Int { files.reduce(0) { $0 + $1.lines } }
    /// Requests ingested.
    public var requests: Int { files.reduce(0) { $0 + $1.requests } }
    /// Records skipped.
    public var skipped: Int { files.reduce(0) { $0 + $1.skipped } }
    /// Malformed lines.
    public var malformed: Int { files.reduce(0) { $0 + $1.malformed } }
    /// Directive, comment and blank lines of all inputs (see ``FileReport/otherLines``).
    public var otherLines: Int { files.reduce(0) { $0 + $1.otherLines } }
    /// Decompressed bytes read.
    public var bytes: Int64 { files.reduce(0) { $0 + $1.bytes } }
    /// The earliest request time.
    public var first: String? { files.compactMap(\.first).min() }
    /// The latest request time.
    public var last: String? { files.compactMap(\.last).max() }
    /// Decompressed megabytes (10^6 bytes) per second.
    public var megabytesPerSecond: Double {
        elapsedSeconds > 0 ? Double(bytes) / 1_000_000 / elapsedSeconds : 0
    }
}
