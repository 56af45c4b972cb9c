import GRDB

/// What a ``RecordConsumer`` made of one line.
public enum ConsumedLine: Sendable, Equatable {
    /// Not a record and not an error (blank line, envelope punctuation, a header row).
    case ignored
    /// Part of a record that continues on later lines (pretty-printed JSON).
    case pending
    /// A complete record at this time (Unix seconds, UTC).
    case record(time: Int64)
    /// A record that was read but not counted, with the reason.
    case skipped(reason: String)
    /// Not a valid record, with the reason, reported at this line.
    case malformed(reason: String)
    /// A record that started on another line (a multi-line record) and is not valid, reported at
    /// the line it starts on: the reason, that line's number and its start (at most 200 bytes).
    case malformedRecord(reason: String, startLine: Int, text: String)
    /// Several outcomes from one line (an Event Hubs `{"records": [...]}` message holds many).
    indirect case several([ConsumedLine])
}

/// Reads the lines of a non-W3C log (gateway logs) inside the ingest transaction.
///
/// The ingest driver owns the input, the ledger, the transaction and line accounting; a consumer
/// owns parsing and what its records become in the store. A consumer is made per input by
/// ``GatewayFormats/consumer(forHead:path:)`` after sniffing the input's first bytes.
public protocol RecordConsumer: AnyObject {
    /// A short format name for the ledger and summaries (`apim-json`, `apim-csv`, `nginx`).
    var formatName: String { get }

    /// Reads one line (terminator removed). The bytes are valid only during the call.
    ///
    /// - Parameters:
    ///   - line: The line.
    ///   - lineNumber: Its 1-based number in the input.
    /// - Returns: What the line was.
    func consume(_ line: UnsafeRawBufferPointer, lineNumber: Int) -> ConsumedLine

    /// Writes what is held in memory into the store (inside the input's transaction).
    ///
    /// - Parameters:
    ///   - db: The database, in the input's transaction.
    ///   - fileID: The ledger id of the input.
    ///   - final: Whether the input has ended.
    /// - Returns: A malformed record left open at the end of the input (e.g. a JSON record that
    ///   never closed), when `final` is true.
    /// - Throws: Database errors.
    func flush(db: any SQLDatabase, fileID: Int64, final: Bool) throws -> ConsumedLine?

    /// Rows held in memory; the driver flushes when this passes its threshold.
    var pendingRowCount: Int { get }

    /// Whether an input's unterminated last line is a record cut short (a writer in the middle
    /// of it), to be left for the next run instead of being read now; the line is not consumed.
    ///
    /// - Parameter line: The unterminated last line.
    /// - Returns: `true` to leave it for the next run.
    func leavesUnterminatedLine(_ line: UnsafeRawBufferPointer) -> Bool

    /// Makes records dated outside `window` malformed (with the window's reason) instead of stored.
    ///
    /// - Parameter window: The run's plausible request times.
    func limitDates(to window: DateWindow)
}

extension RecordConsumer {
    /// By default an unterminated last line is read like any other.
    ///
    /// - Parameter line: The unterminated last line.
    /// - Returns: `false`.
    public func leavesUnterminatedLine(_ line: UnsafeRawBufferPointer) -> Bool { false }
}
