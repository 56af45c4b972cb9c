import Foundation

/// Work for an input's writer thread.
enum WriteJob {
    /// Evidence (or gateway-request) rows.
    case evidence(EvidenceBatch)
    /// Hourly aggregates, inventories and latency histograms detached from the pass.
    case aggregates(Aggregator, Inventories)

    var isEvidence: Bool {
        if case .evidence = self { return true }
        return false
    }
}

/// The text fields of a batch's rows, in the order it holds them: the parser appends them, and
/// the writers bind them, by name.
protocol BatchField: CaseIterable {
    /// The field's place in a row.
    var rawValue: Int { get }
    /// The batches whose rows have these fields.
    static var kind: EvidenceBatch.Kind { get }
    /// The column the field is stored in.
    var column: String { get }
}

/// The text fields of an `evidence` row, in the order a batch holds them.
enum EvidenceField: Int, BatchField {
    case site, address, forwardedFor, method, uriStem, uriQuery, userAgent, host, rule

    static var kind: EvidenceBatch.Kind { .evidence }

    /// The `evidence` column the field is stored in.
    var column: String {
        switch self {
        case .site: "site"
        case .address: "address"
        case .forwardedFor: "forwarded_for"
        case .method: "method"
        case .uriStem: "uri_stem"
        case .uriQuery: "uri_query"
        case .userAgent: "user_agent"
        case .host: "host"
        case .rule: "rule"
        }
    }
}

/// The text fields of a `backend_gateway_requests` row, in the order a batch holds them.
enum GatewayRequestField: Int, BatchField {
    case site, address, method, path, requestID, requestIDField

    static var kind: EvidenceBatch.Kind { .gatewayRequests }

    /// The `backend_gateway_requests` column the field is stored in.
    var column: String {
        switch self {
        case .site: "site"
        case .address: "address"
        case .method: "method"
        case .path: "path"
        case .requestID: "request_id"
        case .requestIDField: "request_id_field"
        }
    }
}

/// Direct requests waiting to be written as evidence: the text of every row lives in one arena.
struct EvidenceBatch {
    /// What the rows are.
    enum Kind {
        /// `evidence` rows; text fields: ``EvidenceField``.
        case evidence
        /// `backend_gateway_requests` rows; text fields: ``GatewayRequestField``.
        case gatewayRequests

        var fieldCount: Int { self == .evidence ? EvidenceField.allCases.count : GatewayRequestField.allCases.count }
    }

    let kind: Kind
    var fieldCount: Int { kind.fieldCount }

    struct Span {
        var offset: Int32
        var count: Int32  // -1 for NULL
    }

    struct Row {
        var time: Int64
        var line: Int64
        var status: Int32
        var substatus: Int32
        var verdictCode: UInt8
        var outcomeCode: UInt8
        /// The row's judgement key (`evidence.key_id`; 0 for gateway-request rows).
        var keyID: Int64 = 0
    }

    var arena: [UInt8] = []
    var spans: [Span] = []
    var rows: [Row] = []

    init(kind: Kind = .evidence) {
        self.kind = kind
        arena.reserveCapacity(Self.arenaLimit / 2)
        spans.reserveCapacity(Self.rowLimit * kind.fieldCount)
        rows.reserveCapacity(Self.rowLimit)
    }

    /// Rows and text bytes per batch: a few batches are in flight between the parser and the
    /// writer thread, so they are kept small.
    static let rowLimit = 1024
    static let arenaLimit = 1 << 19

    /// Whether the batch should be handed to the writer.
    var isFull: Bool { rows.count >= Self.rowLimit || arena.count >= Self.arenaLimit }

    var count: Int { rows.count }
    var arenaBytes: Int { arena.count }

    /// The text of a row's field, `nil` for NULL; valid while `arena` (the batch's arena's bytes)
    /// is.
    @inline(__always)
    func text<Field: BatchField>(
        row: Int,
        _ field: Field,
        in arena: UnsafeRawBufferPointer
    ) -> UnsafeRawBufferPointer? {
        let span = spans[row * fieldCount + field.rawValue]
        guard span.count >= 0 else { return nil }
        guard let base = arena.baseAddress else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + Int(span.offset), count: Int(span.count))
    }

    /// Checks (in debug builds) that `field` is the next field of a row of this batch.
    @inline(__always)
    private func expect<Field: BatchField>(_ field: Field) {
        assert(Field.kind == kind && spans.count % fieldCount == field.rawValue, "batch field \(field) out of order")
    }

    /// Appends the next field of a row (fields come in their enumeration's order); `nil` is NULL.
    @inline(__always)
    mutating func append<Field: BatchField>(_ field: Field, _ bytes: UnsafeRawBufferPointer?) {
        expect(field)
        append(bytes)
    }

    /// Appends the next field of a row as text.
    mutating func append<Field: BatchField>(_ field: Field, _ text: String) {
        expect(field)
        append(text)
    }

    /// Sets the last row's judgement key from its address, the field appended last.
    mutating func setLastKeyID(seed: UInt64, _ key: AggregateKey) {
        guard let span = spans.last, !rows.isEmpty else { return }
        let id = arena.withUnsafeBytes { raw in
            JudgementKey.id(
                seed: seed,
                address: UnsafeRawBufferPointer(
                    rebasing: raw[Int(span.offset)..<Int(span.offset + max(span.count, 0))]
                ),
                invalid: key.invalidAddress != 0,
                status: key.status,
                substatus: key.substatus
            )
        }
        rows[rows.count - 1].keyID = id
    }

    /// Appends the next field of a row: the stored text of an address key, or `invalidText`, the
    /// logged text of a `c-ip` that is not an address (``Aggregator/addressText(_:invalid:)``):
    /// the per-line path never copies the aggregator.
    mutating func appendAddress<Field: BatchField>(_ field: Field, _ address: IPAddress, invalidText: String?) {
        expect(field)
        if let invalidText {
            append(invalidText)
            return
        }
        let start = arena.count
        arena.append(contentsOf: repeatElement(0, count: 48))
        let count = arena.withUnsafeMutableBytes { raw in
            address.writeText(into: UnsafeMutableRawBufferPointer(rebasing: raw[start...]))
        }
        arena.removeLast(48 - count)
        spans.append(Span(offset: Int32(start), count: Int32(count)))
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer?) {
        guard let bytes else {
            spans.append(Span(offset: 0, count: -1))
            return
        }
        spans.append(Span(offset: Int32(arena.count), count: Int32(bytes.count)))
        arena.append(contentsOf: bytes)
    }

    private mutating func append(_ text: String) {
        var copy = text
        copy.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }
}
