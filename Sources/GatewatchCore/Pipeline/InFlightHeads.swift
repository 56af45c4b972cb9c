import Foundation

/// The inputs of a parallel run that are being read, with their first bytes: an input whose head
/// and an earlier input's head are one a prefix of the other (the same file, or one that grew)
/// waits for the earlier one to be written before it writes, so the ledger sees them in input
/// order, exactly as a sequential run does.
///
/// `@unchecked Sendable`: `heads` is read and written only while `condition` is locked.
final class InFlightHeads: @unchecked Sendable {
    private let condition = NSCondition()
    /// Input index → its first bytes, or `nil` while they are not read yet.
    private var heads: [Int: [UInt8]?] = [:]

    /// An input is taken by a worker (its head is not known yet).
    func take(_ index: Int) {
        condition.withLock { heads[index] = .some(nil) }
    }

    /// The input's first bytes are known.
    func setHead(_ index: Int, _ head: [UInt8]) {
        condition.withLock {
            heads[index] = .some(head)
            condition.broadcast()
        }
    }

    /// The input is done (written, known, or failed).
    func finish(_ index: Int) {
        condition.withLock {
            heads[index] = nil
            condition.broadcast()
        }
    }

    /// Blocks while an earlier input is unread or shares this head.
    func waitForEarlier(_ index: Int, head: [UInt8]) {
        condition.withLock {
            while heads.contains(where: { other, otherHead in
                guard other < index else { return false }
                guard let otherHead else { return true }
                return Self.overlaps(head, otherHead)
            }) {
                condition.wait()
            }
        }
    }

    /// Blocks while any earlier input is in flight.
    func waitForAllEarlier(_ index: Int) {
        condition.withLock {
            while heads.keys.contains(where: { $0 < index }) { condition.wait() }
        }
    }

    /// Whether one head is a prefix of the other.
    static func overlaps(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        let length = min(lhs.count, rhs.count)
        return lhs.prefix(length) == rhs.prefix(length)
    }
}
