import Foundation

/// What a pass counted of the input's lines.
struct LineCounts {
    var lines = 0
    var requests = 0
    var skipped = 0
    var malformed = 0
    /// Directive, comment and blank lines, and gateway lines that only continue a record.
    var otherLines = 0
}

/// The earliest and latest request time a pass saw.
struct TimeBounds {
    private(set) var first = Int64.max
    private(set) var last = Int64.min

    @inline(__always)
    mutating func include(_ time: Int64) {
        if time < first { first = time }
        if time > last { last = time }
    }

    /// The earliest time, `nil` before any request.
    var earliest: Int64? { first == Int64.max ? nil : first }
    /// The latest time, `nil` before any request.
    var latest: Int64? { last == Int64.min ? nil : last }
}

/// Requests by verdict, and the outcomes the run summary counts.
struct VerdictTally {
    /// Requests per ``Verdict/code``.
    private(set) var byCode = [Int](repeating: 0, count: Verdict.allCases.count)
    /// Direct requests the backend blocked.
    private(set) var blocked = 0
    /// Direct requests the backend served.
    private(set) var served = 0
    /// Platform requests with an outcome (denied by the platform).
    private(set) var platformDenied = 0

    /// Requests per verdict (every verdict, 0 included).
    var counts: [Verdict: Int] {
        Dictionary(uniqueKeysWithValues: Verdict.allCases.map { ($0, byCode[Int($0.code)]) })
    }

    @inline(__always)
    mutating func add(_ verdict: Verdict, outcome: Outcome) {
        byCode[Int(verdict.code)] += 1
        if verdict == .direct {
            if outcome == .blocked { blocked += 1 }
            if outcome == .served { served += 1 }
        } else if verdict == .platform, outcome != .none {
            platformDenied += 1
        }
    }
}

/// What a pass read in a way its report warns about.
struct ReadAnomalies {
    /// Requests whose client address is not an IP address.
    var invalidAddresses = 0
    /// Requests read with c-ip because their X-Forwarded-For holds no address.
    var forwardedForFallbacks = 0
    /// Non-gateway requests logged without a status (`sc-status -`): neither blocked nor served.
    var noStatus = 0
    /// Records skipped because their layout has no c-ip column.
    var noClientColumn = 0
    /// Requests read with c-ip because their layout has no X-Forwarded-For column.
    var noForwardedColumn = 0
    /// Rests of lines an earlier run read unterminated, skipped.
    var skippedContinuation = 0
    /// The first directive line holding a carriage return with more text after it, or 0: a file
    /// that ends its lines with CR alone only past its head (where the terminator was chosen)
    /// reads its rest as one directive line.
    var bareCarriageReturnLine = 0
    /// Why records were skipped (the first five reasons).
    private(set) var skipReasons: [String] = []

    mutating func addSkipReason(_ reason: String) {
        if skipReasons.count < 5, !skipReasons.contains(reason) { skipReasons.append(reason) }
    }

    /// The report's warnings about skipped rests of lines and about client addresses.
    func warnings(clientAddress: ClientAddressSource) -> [String] {
        var warnings: [String] = []
        if skippedContinuation > 0 {
            warnings.append("the rest of a line that an earlier run read unterminated was skipped")
        }
        if noClientColumn > 0 {
            warnings.append("\(noClientColumn) records skipped: their #Fields layout has no c-ip column")
        }
        if noForwardedColumn > 0 {
            warnings.append(
                "\(noForwardedColumn) requests read with c-ip: their #Fields layout has no X-Forwarded-For column"
            )
        }
        if invalidAddresses > 0 {
            warnings.append("\(invalidAddresses) requests have a client address that is not an IP address")
        }
        if forwardedForFallbacks > 0 {
            warnings.append(
                "\(forwardedForFallbacks) requests read with c-ip: their X-Forwarded-For holds no IP address"
                    + " (--client-ip \(clientAddress.rawValue))"
            )
        }
        if noStatus > 0 {
            warnings.append(
                "\(noStatus) direct requests have no sc-status (-): whether they were blocked or served cannot be"
                    + " told, so they are counted as direct with neither outcome"
            )
        }
        return warnings
    }
}

/// Evidence batches a deferred pass holds until its transaction opens.
struct HeldEvidence {
    private(set) var batches: [EvidenceBatch] = []
    /// About the memory they hold.
    private(set) var bytes = 0

    var isEmpty: Bool { batches.isEmpty }

    mutating func hold(_ batch: EvidenceBatch) {
        batches.append(batch)
        bytes += batch.arenaBytes + batch.count * 64
    }

    /// The batches held, in order; none are held afterwards.
    mutating func takeAll() -> [EvidenceBatch] {
        defer { self = HeldEvidence() }
        return batches
    }
}

/// Ends a pass from deep inside its reading (a chunk, a line, the first write) with a result that
/// is not a report; ``PassState/run()`` catches it and returns its result.
struct PassInterruption: Error {
    var result: PassResult
}
