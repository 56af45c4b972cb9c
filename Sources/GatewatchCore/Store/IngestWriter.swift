import Foundation

/// What the ingest of one input writes, inside that input's one transaction, on either engine.
///
/// The SQLite writer (``StoreWriter``) upserts through prepared statements bound in place; the
/// PostgreSQL writer (``PostgresWriter``) streams rows with `COPY` into session-local staging
/// tables and merges them with one ordered upsert per table when the input ends.
protocol IngestWriter: AnyObject {
    /// The connection, for the ledger (``Ledger``) and the gateway tables.
    var database: any SQLDatabase { get }
    /// The name every row written is tagged with (`--source`).
    var source: String { get }

    /// Serialises ingesters that read inputs starting with the same bytes, so that one of them
    /// sees the other's ledger row (PostgreSQL; SQLite's write lock already serialises).
    func lockHead(_ headHash: String) throws

    /// Returns the function that writes a batch of evidence (possibly on another thread, while
    /// nothing else uses the connection).
    func makeEvidenceSink(fileID: Int64) throws -> (EvidenceBatch) throws -> Void

    /// Writes (or stages) the hourly aggregates held in memory and empties them.
    func flush(_ aggregator: inout Aggregator) throws

    /// Writes (or stages) inventories and latency histograms held in memory and empties them.
    func flush(_ inventories: inout Inventories, aggregator: Aggregator) throws

    /// Merges whatever was staged; called once, after the last flush of the input.
    func finishInput() throws

    /// Work for the flushes to run every so many rows (`nil`: none): the writer thread lets the
    /// evidence batches queued meanwhile through, so that the parser does not wait for a whole
    /// flush to hand over its next batch.
    var betweenRows: (() throws -> Void)? { get set }
}
