#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Interns byte strings (endpoints, user agents, methods, sites) as small integer ids.
///
/// Open addressing over a power-of-two table; a lookup of a value already seen hashes the bytes
/// once and compares them with `memcmp`, with no allocation. The values live end to end in one
/// byte arena (no array per value: a lookup touches the table, the hash and the arena). Values
/// longer than ``maximumLength`` are cut to that length.
struct ByteInterner {
    let maximumLength: Int
    private var slots: [Int32]  // -1 empty, else id
    private var hashes: [UInt64]  // per id
    private var ends: [Int]  // per id: where its bytes end in `arena` (they start at the previous end)
    private var arena: [UInt8]
    private var mask: Int

    init(maximumLength: Int = 512, capacity: Int = 1024) {
        self.maximumLength = maximumLength
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        hashes = []
        ends = []
        arena = []
    }

    var count: Int { ends.count }

    @inline(__always)
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        // FNV-1a over 8-byte words, then a final mix: fast, and good enough for a hash table.
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        var index = 0
        let count = bytes.count
        if let base = bytes.baseAddress {
            while index + 8 <= count {
                hash = (hash ^ base.loadUnaligned(fromByteOffset: index, as: UInt64.self)) &* 0x0000_0100_0000_01B3
                index += 8
            }
            while index < count {
                hash = (hash ^ UInt64(base.load(fromByteOffset: index, as: UInt8.self))) &* 0x0000_0100_0000_01B3
                index += 1
            }
        }
        hash ^= UInt64(count)
        hash ^= hash >> 33
        hash = hash &* 0xFF51_AFD7_ED55_8CCD
        hash ^= hash >> 33
        return hash
    }

    @inline(__always)
    private func start(of id: Int) -> Int { id == 0 ? 0 : ends[id &- 1] }

    /// The id of `bytes`, adding them when new.
    mutating func id(_ input: UnsafeRawBufferPointer) -> Int32 {
        let bytes = input.count > maximumLength ? UnsafeRawBufferPointer(rebasing: input[0..<maximumLength]) : input
        let hash = Self.hash(bytes)
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let existing = slots[slot]
            if existing < 0 { break }
            let id = Int(existing)
            if hashes[id] == hash {
                let start = start(of: id)
                if ends[id] &- start == bytes.count {
                    let matches = arena.withUnsafeBytes { stored in
                        guard let left = stored.baseAddress, let right = bytes.baseAddress else { return true }
                        return memcmp(left + start, right, bytes.count) == 0
                    }
                    if matches { return existing }
                }
            }
            slot = (slot + 1) & mask
        }
        let id = Int32(ends.count)
        arena.append(contentsOf: bytes)
        ends.append(arena.count)
        hashes.append(hash)
        slots[slot] = id
        if ends.count * 2 > slots.count { grow() }
        return id
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        for (id, hash) in hashes.enumerated() {
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(id)
        }
    }

    /// The text of an id (decoded as UTF-8 with replacement).
    func text(_ id: Int32) -> String { withBytes(id) { String(decoding: $0, as: UTF8.self) } }

    /// The hash of an id's bytes (the same for the same bytes in any interner).
    func hash(of id: Int32) -> UInt64 { hashes[Int(id)] }

    /// The bytes of an id, valid during `body`.
    func withBytes<R>(_ id: Int32, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let start = start(of: Int(id))
        let end = ends[Int(id)]
        return arena.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
    }

    /// The bytes of an id.
    func bytes(_ id: Int32) -> [UInt8] { withBytes(id) { Array($0) } }
}
