import Foundation

extension SQLQuery {
    /// Runs a statement and writes each row to `sink` as it is read (`json`, `ndjson`, `csv`),
    /// byte for byte what ``SQLResult/render(_:)`` gives; `table` collects its rows (at most
    /// `limit`) and renders them whole.
    ///
    /// - Parameters:
    ///   - sql: One SQL statement.
    ///   - store: The store, opened read-only.
    ///   - limit: The most rows; 0 means all.
    ///   - format: The output format.
    ///   - sink: Where the text goes.
    /// - Throws: ``QueryError`` when the statement is empty, writes, or fails; encoding errors.
    public static func write(
        _ sql: String,
        store: Store,
        limit: Int,
        format: OutputFormat,
        to sink: OutputSink
    ) throws {
        guard format != .table else {
            sink.write(try run(sql, store: store, limit: limit).render(format))
            return
        }
        var writer: SQLRowWriter?
        let (columns, _) = try forEachRow(sql, store: store, limit: limit) { columns, values in
            if writer == nil { writer = SQLRowWriter(columns: columns, format: format, sink: sink) }
            try writer?.add(values)
        }
        (writer ?? SQLRowWriter(columns: columns, format: format, sink: sink)).finish()
    }
}

/// Writes `sql` rows one at a time: objects keyed by column name (a repeated name gets `_2`,
/// `_3`, …) in `json` and `ndjson`, cells in `csv`.
struct SQLRowWriter {
    let format: OutputFormat
    let sink: OutputSink
    let keys: [String]
    private let encoder = JSONEncoder()
    private var count = 0

    init(columns: [String], format: OutputFormat, sink: OutputSink) {
        self.format = format
        self.sink = sink
        keys = SQLResult.keys(columns)
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        switch format {
        case .json: sink.write("[")
        case .csv: sink.write(columns.map(SafeText.csv).joined(separator: ",") + "\r\n")
        case .ndjson, .table: break
        }
    }

    mutating func add(_ values: [SQLValue]) throws {
        switch format {
        case .json, .ndjson:
            let object = Dictionary(zip(keys, values), uniquingKeysWith: { first, _ in first })
            if format == .json, count > 0 { sink.write(",") }
            sink.write(String(decoding: try encoder.encode(object), as: UTF8.self))
            if format == .ndjson { sink.write("\n") }
        case .csv:
            sink.write(values.map { SafeText.csv($0.text) }.joined(separator: ",") + "\r\n")
        case .table:
            break
        }
        count += 1
    }

    func finish() {
        if format == .json { sink.write("]\n") }
    }
}

extension SQLResult {
    /// The JSON keys of the columns: a repeated name gets `_2`, `_3`, ….
    static func keys(_ columns: [String]) -> [String] {
        var keys: [String] = []
        var seen: [String: Int] = [:]
        for column in columns {
            let count = (seen[column] ?? 0) + 1
            seen[column] = count
            keys.append(count == 1 ? column : "\(column)_\(count)")
        }
        return keys
    }
}
