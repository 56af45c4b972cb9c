import CISAL

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Intel ISA-L's inflate, loaded at run time: an optional speed-up, never a build requirement.
///
/// `libisal.so.2` (Debian: `libisal2`) is opened with `dlopen` the first time a gzip input is
/// read; without it ``ByteSource`` inflates with zlib, which gives the same bytes and errors
/// (about 0.1 s more CPU per million gzipped lines). The library is accepted only after it has
/// inflated a known gzip member correctly through the vendored `struct inflate_state`, so a
/// library whose layout differs from the header Gatewatch was built with is refused, not trusted.
struct ISAL: Sendable {
    typealias InitFunction = @convention(c) (UnsafeMutablePointer<inflate_state>?) -> Void
    typealias InflateFunction = @convention(c) (UnsafeMutablePointer<inflate_state>?) -> Int32

    /// `isal_inflate_init`.
    let inflateInit: InitFunction
    /// `isal_inflate`.
    let inflate: InflateFunction
    /// The file that was loaded, for `--version --verbose`.
    let libraryName: String

    /// The library names tried, in order.
    static let libraryNames = ["libisal.so.2", "libisal.so", "libisal.2.dylib", "libisal.dylib"]

    /// The loaded library, or why there is none (loaded once per process).
    static let shared: Result<ISAL, OptionalLibraryError> = load(names: libraryNames)

    /// The loaded library, if any.
    static var available: ISAL? { try? shared.get() }

    /// What `gatewatch --version --verbose` says of it.
    static var status: OptionalLibraryStatus {
        OptionalLibraryStatus(
            feature: "gzip inflate (ISA-L)",
            result: shared.map(\.libraryName),
            withoutIt: "zlib inflates instead"
        )
    }

    /// Opens the first of `names` that loads and checks it.
    static func load(names: [String]) -> Result<ISAL, OptionalLibraryError> {
        guard let (handle, name) = OptionalLibrary.open(names) else {
            return .failure(.notFound(library: "ISA-L (libisal.so.2)", install: "apt-get install libisal2"))
        }
        guard let initSymbol = dlsym(handle, "isal_inflate_init"), let inflateSymbol = dlsym(handle, "isal_inflate")
        else {
            return .failure(.unusable(library: name, reason: "it lacks isal_inflate_init or isal_inflate"))
        }
        let library = ISAL(
            inflateInit: unsafeBitCast(initSymbol, to: InitFunction.self),
            inflate: unsafeBitCast(inflateSymbol, to: InflateFunction.self),
            libraryName: name
        )
        switch library.selfTest() {
        case .passed: break
        case .largerState:
            return .failure(
                .unusable(
                    library: name,
                    reason: "its struct inflate_state is larger than the ISA-L 2.30 header Gatewatch was built with"
                )
            )
        case .failed:
            return .failure(.unusable(library: name, reason: "it did not inflate a known gzip member correctly"))
        }
        return .success(library)
    }

    /// What the self-test found.
    private enum SelfTest {
        case passed, failed, largerState
    }

    /// Inflates a small gzip member (back-references, a CRC-checked trailer), compares, and checks
    /// that nothing was written past the vendored `struct inflate_state`.
    private func selfTest() -> SelfTest {
        let expected = Array(repeating: Array("gatewatch inflate self-test\n".utf8), count: 4).joined()
        var input = Self.selfTestMember
        var output = [UInt8](repeating: 0, count: 256)
        let state = Self.allocateState()
        defer { Self.deallocateState(state) }
        inflateInit(state)
        state.pointee.crc_flag = UInt32(ISAL_GZIP)
        let (status, written) = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                state.pointee.next_in = source.baseAddress
                state.pointee.avail_in = UInt32(source.count)
                state.pointee.next_out = target.baseAddress
                state.pointee.avail_out = UInt32(target.count)
                let status = inflate(state)
                return (status, target.count - Int(state.pointee.avail_out))
            }
        }
        if Self.slackTouched(state) { return .largerState }
        return status == ISAL_DECOMP_OK && state.pointee.block_state == ISAL_BLOCK_FINISH
            && output[..<written].elementsEqual(expected) ? .passed : .failed
    }

    /// Bytes allocated after every `inflate_state`: a library whose struct is larger than the
    /// vendored header writes there, not into the heap, and the self-test sees it.
    static let stateSlack = 64 << 10
    /// The byte the slack is filled with.
    private static let slackByte: UInt8 = 0xA5

    /// An `inflate_state` followed by ``stateSlack`` bytes of a known pattern.
    static func allocateState() -> UnsafeMutablePointer<inflate_state> {
        let size = MemoryLayout<inflate_state>.stride + stateSlack
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: size,
            alignment: max(16, MemoryLayout<inflate_state>.alignment)
        )
        raw.initializeMemory(as: UInt8.self, repeating: slackByte, count: size)
        return raw.bindMemory(to: inflate_state.self, capacity: 1)
    }

    /// Frees a state from ``allocateState()``.
    static func deallocateState(_ state: UnsafeMutablePointer<inflate_state>) {
        UnsafeMutableRawPointer(state).deallocate()
    }

    /// Whether the library wrote past the vendored `struct inflate_state` (its layout is larger).
    private static func slackTouched(_ state: UnsafeMutablePointer<inflate_state>) -> Bool {
        let slack = UnsafeRawPointer(state) + MemoryLayout<inflate_state>.stride
        return UnsafeRawBufferPointer(start: slack, count: stateSlack).contains { $0 != slackByte }
    }

    /// `gzip.compress(b"gatewatch inflate self-test\n" * 4, mtime=0)`.
    private static let selfTestMember: [UInt8] = [
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x4b, 0x4f, 0x2c, 0x49, 0x2d, 0x4f, 0x2c, 0x49,
        0xce, 0x50, 0xc8, 0xcc, 0x4b, 0xcb, 0x01, 0x72, 0x14, 0x8a, 0x53, 0x73, 0xd2, 0x74, 0x4b, 0x52, 0x8b, 0x4b,
        0xb8, 0xd2, 0x69, 0x20, 0x07, 0x00, 0x85, 0xa4, 0xe8, 0x9e, 0x70, 0x00, 0x00, 0x00,
    ]
}
