import CMalloc

/// Where a query writes its rendered rows, as it reads them: standard output through a 64 KiB
/// buffer, or a string (what `render(_:)` returns).
///
/// Queries stream (issue 23): on a store with 3M addresses, building the whole output first took
/// gigabytes. Only `--format table`, which must know every column's width, keeps its rows.
public final class OutputSink {
    private enum Target {
        case standardOutput
        case string
    }

    private let target: Target
    private var buffer = ""
    private static let chunk = 1 << 16

    private init(_ target: Target) {
        self.target = target
        buffer.reserveCapacity(target == .string ? 256 : Self.chunk + 4096)
    }

    /// A sink that writes to standard output (the C library's `stdout`, as `print` does).
    public static func standardOutput() -> OutputSink { OutputSink(.standardOutput) }

    /// A sink that keeps everything written, for ``text``.
    public static func string() -> OutputSink { OutputSink(.string) }

    /// Appends text.
    ///
    /// - Parameter text: The text.
    public func write(_ text: String) {
        buffer += text
        if target == .standardOutput, buffer.utf8.count >= Self.chunk { flush() }
    }

    /// Appends a JSON object (see ``JSONObjectWriter``).
    func writeObject(_ value: some FastJSONObject) {
        JSONObjectWriter.object(value, into: &buffer)
        if target == .standardOutput, buffer.utf8.count >= Self.chunk { flush() }
    }

    /// Hands the buffer to standard output (a string sink keeps it).
    public func flush() {
        guard target == .standardOutput, !buffer.isEmpty else { return }
        var text = buffer
        text.withUTF8 { bytes in
            _ = gw_write_stdout(bytes.baseAddress, bytes.count)
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Everything written to a string sink.
    public var text: String { buffer }
}

/// Writes a list of rows in a streaming format as the rows come.
///
/// `json` is one array, `ndjson` one object per line, `csv` a header row and then rows. `table` is not streamed; callers collect its rows.
struct ListWriter<Item: FastJSONObject> {
    let format: OutputFormat
    let sink: OutputSink
    private(set) var count = 0

    /// Starts the list.
    ///
    /// - Parameters:
    ///   - format: `json`, `ndjson` or `csv`.
    ///   - sink: Where the text goes.
    ///   - columns: The CSV header.
    init(format: OutputFormat, sink: OutputSink, columns: [String]) {
        precondition(format != .table, "a table is rendered whole")
        self.format = format
        self.sink = sink
        switch format {
        case .json: sink.write("[")
        case .csv: sink.write(columns.map(SafeText.csv).joined(separator: ",") + "\r\n")
        case .ndjson, .table: break
        }
    }

    /// Writes one row; `cells` gives its CSV cells.
    mutating func add(_ item: Item, cells: (Item) -> [String]) {
        switch format {
        case .json:
            if count > 0 { sink.write(",") }
            sink.writeObject(item)
        case .ndjson:
            sink.writeObject(item)
            sink.write("\n")
        case .csv:
            sink.write(cells(item).map(SafeText.csv).joined(separator: ",") + "\r\n")
        case .table:
            break
        }
        count += 1
    }

    /// Ends the list.
    func finish() {
        if format == .json { sink.write("]\n") }
    }
}
