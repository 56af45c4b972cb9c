/// Which direct requests become `evidence` rows (issue 23): the aggregates (`hourly`,
/// `inventory`, `latency`) count every request either way.
public enum EvidenceMode: Sendable, Equatable, CustomStringConvertible {
    /// Per address, UTC day and outcome: the first `cap` requests ingested, and the latest one.
    case sample(cap: Int)
    /// Every direct request (`--evidence all`, for forensic work).
    case all
    /// No evidence rows (`--evidence none`).
    case none

    /// The default: a bounded sample of 100 (and the latest) per address, day and outcome.
    public static let defaultCap = 100
    public static let `default` = EvidenceMode.sample(cap: defaultCap)

    /// How the store records it (`meta.evidence`, `files.evidence`): `sample 100`, `all`, `none`.
    public var description: String {
        switch self {
        case .sample(let cap): "sample \(cap)"
        case .all: "all"
        case .none: "none"
        }
    }

    /// `sample`, `all`, `none` (or a recorded `sample N`); `nil` for anything else.
    ///
    /// - Parameters:
    ///   - text: The value.
    ///   - cap: The cap of `sample`.
    public init?(_ text: String, cap: Int = EvidenceMode.defaultCap) {
        let words = text.lowercased().split(separator: " ")
        switch (words.first, words.count) {
        case ("all", 1): self = .all
        case ("none", 1): self = .none
        case ("sample", 1) where cap > 0: self = .sample(cap: cap)
        case ("sample", 2):
            guard let recorded = Int(words[1]), recorded > 0 else { return nil }
            self = .sample(cap: recorded)
        default: return nil
        }
    }

    /// The values `--evidence` and `evidence:` take, for messages.
    public static let accepted = "'sample' (the first N and the latest per address, day and outcome), 'all' or 'none'"
}

/// One input's evidence sample, on the parser thread.
///
/// Per (address, UTC day, outcome) the first `cap` direct requests of the input go out as they
/// come, and of the rest only the latest is held, written at the end of the input.
/// ``EvidenceTrim`` then applies the cap across inputs, against what the store already holds.
struct EvidenceSampler {
    struct Group: FlatKey {
        var address: IPAddress
        var invalidAddress: Int32
        var day: Int32
        var outcomeCode: UInt8

        var flatHash: UInt64 {
            let folded = mix64(
                UInt64(UInt32(bitPattern: day)) ^ UInt64(outcomeCode) << 32
                    ^ UInt64(UInt32(bitPattern: invalidAddress)) << 40
            )
            return mix64(mix64(folded ^ address.high) ^ address.low)
        }
    }

    struct State {
        /// Requests of the group seen in this input.
        var seen: Int32
        /// The held latest request's row in the pass's held batch (-1: none), and its time.
        var latestRow: Int32
        var latestTime: Int64
    }

    /// The cap; 0 when every row is kept (``EvidenceMode/all``).
    let cap: Int32
    var groups = FlatMap<Group, State>()
    init(mode: EvidenceMode) {
        if case .sample(let cap) = mode { self.cap = Int32(clamping: cap) } else { self.cap = 0 }
    }

    /// Where a direct request's row goes.
    enum Placement {
        /// Out now, with the rest of the evidence.
        case keep
        /// Into the held batch (one row per group past the cap), at this row: the held batch's
        /// count for a group's first, else the row it replaces.
        case latest(row: Int)
        /// Nowhere: past the cap and not the latest.
        case drop
    }

    /// Where the row of a request of `group` at `time` goes; `heldCount` is the held batch's count.
    @inline(__always)
    mutating func place(_ group: Group, time: Int64, heldCount: Int) -> Placement {
        let index = groups.insertIndex(group, default: State(seen: 0, latestRow: -1, latestTime: .min))
        var state = groups[valueAt: index]
        defer { groups[valueAt: index] = state }
        state.seen += 1
        if state.seen <= cap { return .keep }
        // Later lines win ties: the newest request as the log lists it.
        guard time >= state.latestTime else { return .drop }
        state.latestTime = time
        if state.latestRow < 0 { state.latestRow = Int32(heldCount) }
        return .latest(row: Int(state.latestRow))
    }
}

extension EvidenceBatch {
    /// The bytes of text the rows' spans cover.
    var liveTextBytes: Int { spans.reduce(0) { $0 + max(Int($1.count), 0) } }

    /// The same rows in an arena holding only their text.
    func compacted() -> EvidenceBatch {
        var copy = EvidenceBatch(kind: kind)
        copy.rows = rows
        copy.spans.reserveCapacity(spans.count)
        for span in spans {
            guard span.count >= 0 else {
                copy.spans.append(span)
                continue
            }
            copy.spans.append(Span(offset: Int32(copy.arena.count), count: span.count))
            copy.arena.append(contentsOf: arena[Int(span.offset)..<Int(span.offset + span.count)])
        }
        return copy
    }

    /// Moves the last row (just appended) to `row`, replacing what was there.
    mutating func moveLastRow(to row: Int) {
        let last = rows.count - 1
        guard row != last else { return }
        rows[row] = rows[last]
        rows.removeLast()
        let fields = fieldCount
        for field in 0..<fields { spans[row * fields + field] = spans[last * fields + field] }
        spans.removeLast(fields)
    }
}
