/// How the engine behind a connection wants an ingest to write: the ingest core asks these
/// instead of naming an engine.
extension SQLDatabase {
    /// The fewest aggregate rows an ingest should hold before a flush, or `nil` for no floor.
    ///
    /// PostgreSQL stages every flushed row with `COPY` and folds duplicates on the server, so it
    /// holds more in memory and stages each key about once.
    var minimumFlushRows: Int? { dialect == .postgres ? 250_000 : nil }

    /// Whether handing the writer partial flushes while parsing goes on pays: SQLite writes each
    /// flushed row through its B-trees at once, so an idle writer is better kept busy; PostgreSQL
    /// stages each key about once and merges them all at the end of the input.
    var prefersEarlyFlushes: Bool { dialect == .sqlite }
}
