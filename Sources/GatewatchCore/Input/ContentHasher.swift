/// A streaming XXH64 hash of a byte stream, used to fingerprint log content.
///
/// The ledger knows a file by the hash of its decompressed content, so a file that is renamed,
/// copied or gzipped later is still the same file. XXH64 is not cryptographic: fingerprints
/// guard against accidents (re-ingesting the same log), not against an attacker who crafts
/// colliding logs. Together with the byte length and the hash of the first block, an accidental
/// collision needs two logs of the same length, the same head and the same 64-bit hash.
///
/// O(n); no allocation after creation. Copying the value snapshots the state, which is how the
/// ingest driver takes the digest of a prefix without stopping the stream.
public struct ContentHasher: Sendable {
    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    private var v1: UInt64
    private var v2: UInt64
    private var v3: UInt64
    private var v4: UInt64
    private var pending: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var pendingCount = 0
    /// The number of bytes hashed so far.
    public private(set) var byteCount: Int64 = 0

    /// Creates a hasher with seed 0.
    public init() {
        v1 = 0 &+ Self.prime1 &+ Self.prime2
        v2 = Self.prime2
        v3 = 0
        v4 = 0 &- Self.prime1
    }

    @inline(__always)
    private static func round(_ accumulator: UInt64, _ input: UInt64) -> UInt64 {
        var value = accumulator &+ input &* prime2
        value = (value << 31) | (value >> 33)
        return value &* prime1
    }

    @inline(__always)
    private static func merge(_ accumulator: UInt64, _ value: UInt64) -> UInt64 {
        let mixed = accumulator ^ round(0, value)
        return mixed &* prime1 &+ prime4
    }

    /// Adds bytes to the hash.
    ///
    /// - Parameter bytes: The next bytes of the stream.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        byteCount += Int64(bytes.count)
        var offset = 0
        let count = bytes.count
        if pendingCount > 0 {
            withUnsafeMutableBytes(of: &pending) { raw in
                while pendingCount < 32, offset < count {
                    raw[pendingCount] = bytes[offset]
                    pendingCount += 1
                    offset += 1
                }
            }
            guard pendingCount == 32 else { return }
            v1 = Self.round(v1, UInt64(littleEndian: pending.0))
            v2 = Self.round(v2, UInt64(littleEndian: pending.1))
            v3 = Self.round(v3, UInt64(littleEndian: pending.2))
            v4 = Self.round(v4, UInt64(littleEndian: pending.3))
            pendingCount = 0
        }
        var a = v1
        var b = v2
        var c = v3
        var d = v4
        while offset + 32 <= count {
            let pointer = base + offset
            a = Self.round(a, UInt64(littleEndian: pointer.loadUnaligned(as: UInt64.self)))
            b = Self.round(b, UInt64(littleEndian: pointer.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            c = Self.round(c, UInt64(littleEndian: pointer.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
            d = Self.round(d, UInt64(littleEndian: pointer.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
            offset += 32
        }
        v1 = a
        v2 = b
        v3 = c
        v4 = d
        if offset < count {
            withUnsafeMutableBytes(of: &pending) { raw in
                while offset < count {
                    raw[pendingCount] = bytes[offset]
                    pendingCount += 1
                    offset += 1
                }
            }
        }
    }

    /// The 64-bit digest of everything hashed so far; the hasher can keep going afterwards.
    public var digest: UInt64 {
        var hash: UInt64
        if byteCount >= 32 {
            hash = ((v1 << 1) | (v1 >> 63)) &+ ((v2 << 7) | (v2 >> 57))
            hash = hash &+ ((v3 << 12) | (v3 >> 52)) &+ ((v4 << 18) | (v4 >> 46))
            hash = Self.merge(hash, v1)
            hash = Self.merge(hash, v2)
            hash = Self.merge(hash, v3)
            hash = Self.merge(hash, v4)
        } else {
            hash = v3 &+ Self.prime5
        }
        hash = hash &+ UInt64(byteCount)
        var tail = pending
        let tailCount = pendingCount
        withUnsafeBytes(of: &tail) { raw in
            var index = 0
            while index + 8 <= tailCount {
                let lane = Self.round(
                    0,
                    UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                )
                hash ^= lane
                hash = ((hash << 27) | (hash >> 37)) &* Self.prime1 &+ Self.prime4
                index += 8
            }
            if index + 4 <= tailCount {
                hash ^=
                    UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt32.self)))
                    &* Self.prime1
                hash = ((hash << 23) | (hash >> 41)) &* Self.prime2 &+ Self.prime3
                index += 4
            }
            while index < tailCount {
                hash ^= UInt64(raw[index]) &* Self.prime5
                hash = ((hash << 11) | (hash >> 53)) &* Self.prime1
                index += 1
            }
        }
        hash ^= hash >> 33
        hash = hash &* Self.prime2
        hash ^= hash >> 29
        hash = hash &* Self.prime3
        hash ^= hash >> 32
        return hash
    }

    /// The fingerprint text stored in the ledger: 16 hex digits of the digest and the length.
    public var fingerprint: String {
        let hex = String(digest, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex + ":" + String(byteCount)
    }

    /// Hashes one buffer in one call.
    ///
    /// - Parameter bytes: The bytes.
    /// - Returns: The fingerprint text of the bytes.
    public static func fingerprint(of bytes: [UInt8]) -> String {
        var hasher = ContentHasher()
        bytes.withUnsafeBytes { hasher.update($0) }
        return hasher.fingerprint
    }
}
