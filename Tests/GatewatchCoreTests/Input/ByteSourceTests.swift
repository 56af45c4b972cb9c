import Foundation
import Testing

@testable import GatewatchCore

@Suite struct ByteSourceTests {
    /// Reads every decompressed byte of a file, returning the bytes and the error that ended it.
    func readAll(_ path: String, _ inflater: ByteSource.Inflater = .preferred) throws -> (Data, InputError?) {
        let source = try ByteSource(path: path, inflater: inflater)
        var data = Data()
        do {
            while try source.nextChunk({ data.append(contentsOf: $0) }) {}
        } catch let error as InputError {
            return (data, error)
        }
        return (data, nil)
    }

    @Test(
        "plain and gzip files read the same bytes; gzip is detected by content, not name",
        arguments: ByteSource.Inflater.available
    )
    func plainAndGzip(inflater: ByteSource.Inflater) throws {
        let directory = try TestSupport.scratchDirectory()
        let text = Data((0..<20_000).map { "line \($0) with some text\r\n" }.joined().utf8)
        try TestSupport.write(text, to: directory + "/a.log")
        try TestSupport.write(try TestSupport.gzip(text), to: directory + "/a.log.txt")  // gzip with a misleading name
        try TestSupport.write(text, to: directory + "/b.log.gz")  // plain with a .gz name
        for name in ["a.log", "a.log.txt", "b.log.gz"] {
            let (data, error) = try readAll(directory + "/" + name, inflater)
            #expect(error == nil)
            #expect(data == text, "\(name)")
        }
        let source = try ByteSource(path: directory + "/a.log.txt", inflater: inflater)
        _ = try source.nextChunk { _ in }
        #expect(source.isGzip)
    }

    @Test("concatenated gzip members are read whole", arguments: ByteSource.Inflater.available)
    func multiMember(inflater: ByteSource.Inflater) throws {
        let directory = try TestSupport.scratchDirectory()
        let parts = (0..<3).map { member in Data((0..<5000).map { "member \(member) line \($0)\n" }.joined().utf8) }
        var combined = Data()
        for part in parts { combined.append(try TestSupport.gzip(part)) }
        try TestSupport.write(combined, to: directory + "/multi.gz")
        let (data, error) = try readAll(directory + "/multi.gz", inflater)
        #expect(error == nil)
        #expect(data == parts.reduce(Data(), +))
    }

    @Test(
        "a truncated gzip file keeps what came before and names the file and offset",
        arguments: ByteSource.Inflater.available
    )
    func truncated(inflater: ByteSource.Inflater) throws {
        let directory = try TestSupport.scratchDirectory()
        let text = Data((0..<50_000).map { "2026-11-20 10:00:00 line \($0)\n" }.joined().utf8)
        let compressed = try TestSupport.gzip(text)
        let cut = compressed.prefix(compressed.count / 2)
        try TestSupport.write(cut, to: directory + "/cut.log.gz")
        let (data, error) = try readAll(directory + "/cut.log.gz", inflater)
        let failure = try #require(error)
        guard case .truncatedGzip(let path, let offset, let member) = failure else {
            Issue.record("expected truncatedGzip, got \(failure)")
            return
        }
        #expect(path.hasSuffix("cut.log.gz"))
        #expect(offset == Int64(cut.count))
        #expect(member == 1)
        #expect(failure.description.contains("cut short"))
        #expect(data.count > 0)
        #expect(text.starts(with: data))
    }

    @Test("corrupt gzip data is an error with the byte offset", arguments: ByteSource.Inflater.available)
    func corrupt(inflater: ByteSource.Inflater) throws {
        let directory = try TestSupport.scratchDirectory()
        let text = Data((0..<50_000).map { "line \($0)\n" }.joined().utf8)
        var compressed = try TestSupport.gzip(text)
        for index in 200..<260 { compressed[index] ^= 0x5A }
        try TestSupport.write(compressed, to: directory + "/bad.gz")
        let (_, error) = try readAll(directory + "/bad.gz", inflater)
        let failure = try #require(error)
        guard case .corruptGzip(_, let offset, _, _) = failure else {
            Issue.record("expected corruptGzip, got \(failure)")
            return
        }
        #expect(offset >= 0 && offset <= Int64(compressed.count))
        #expect(failure.description.contains("corrupt gzip at byte"))
    }

    @Test(
        "trailing garbage after a gzip member is reported, zero padding is not",
        arguments: ByteSource.Inflater.available
    )
    func trailing(inflater: ByteSource.Inflater) throws {
        let directory = try TestSupport.scratchDirectory()
        let text = Data("a line\n".utf8)
        var padded = try TestSupport.gzip(text)
        padded.append(Data(repeating: 0, count: 512))
        try TestSupport.write(padded, to: directory + "/padded.gz")
        let (paddedData, paddedError) = try readAll(directory + "/padded.gz", inflater)
        #expect(paddedError == nil)
        #expect(paddedData == text)

        var garbage = try TestSupport.gzip(text)
        garbage.append(Data("not gzip".utf8))
        try TestSupport.write(garbage, to: directory + "/garbage.gz")
        let (garbageData, garbageError) = try readAll(directory + "/garbage.gz", inflater)
        #expect(garbageData == text)
        #expect(garbageError?.description.contains("trailing bytes") == true)
    }

    @Test("empty files and an empty gzip member read as nothing", arguments: ByteSource.Inflater.available)
    func empty(inflater: ByteSource.Inflater) throws {
        let directory = try TestSupport.scratchDirectory()
        try TestSupport.write(Data(), to: directory + "/empty.log")
        try TestSupport.write(try TestSupport.gzip(Data()), to: directory + "/empty.gz")
        for name in ["empty.log", "empty.gz"] {
            let (data, error) = try readAll(directory + "/" + name, inflater)
            #expect(data.isEmpty)
            #expect(error == nil)
        }
    }

    @Test("missing files and directories are clear errors")
    func missing() throws {
        let error = #expect(throws: InputError.self) { try ByteSource(path: "/nonexistent/u_ex.log") }
        #expect(error?.description.contains("cannot open '/nonexistent/u_ex.log'") == true)
        let directory = try TestSupport.scratchDirectory()
        let notFile = #expect(throws: InputError.self) { try ByteSource(path: directory) }
        #expect(notFile?.description.contains("is not a regular file") == true)
    }
}

extension ByteSourceTests {
    /// Both inflaters over the same inputs, whole and damaged in many places: the same bytes, and
    /// the same error (kind, offset, member) where they stop.
    @Test("ISA-L and zlib read the same bytes and stop at the same place")
    func inflatersAgree() throws {
        let directory = try TestSupport.scratchDirectory()
        let text = Data(
            (0..<40_000).map { "2026-11-20 10:00:\($0 % 60) 10.0.1.4 GET /api/v1/orders/\($0) - 443\n" }.joined().utf8
        )
        var member = try TestSupport.gzip(text)
        member.append(try TestSupport.gzip(Data("second member\n".utf8)))
        var inputs: [Data] = [
            member, member.prefix(member.count - 3), member.prefix(10), member.prefix(member.count / 3),
        ]
        var random = SplitMix64(state: 5)
        for _ in 0..<24 {
            var damaged = member
            let position = 10 + Int(random.next() % UInt64(member.count - 10))
            damaged[position] ^= UInt8(1 + random.next() % 255)
            inputs.append(damaged)
        }
        for (index, input) in inputs.enumerated() {
            let path = directory + "/input-\(index).gz"
            try TestSupport.write(input, to: path)
            let (isalData, isalError) = try readAll(path, .isal)
            let (zlibData, zlibError) = try readAll(path, .zlib)
            #expect(isalData == zlibData, "input \(index)")
            switch (isalError, zlibError) {
            case (nil, nil):
                break
            case (.truncatedGzip(_, let a, let m), .truncatedGzip(_, let b, let n)):
                #expect(a == b && m == n, "input \(index)")
            case (.corruptGzip(_, _, let m, _), .corruptGzip(_, _, let n, _)):
                #expect(m == n, "input \(index)")
            default:
                Issue.record(
                    "input \(index): ISA-L \(String(describing: isalError)), zlib \(String(describing: zlibError))"
                )
            }
        }
    }
}

@Suite struct ContentHasherTests {
    @Test(
        "XXH64 matches the reference vectors",
        arguments: [
            ("", "ef46db3751d8e999"),
            ("a", "d24ec4f1a98c6e5b"),
            ("abc", "44bc2cf5ad770999"),
            ("Nobody inspects the spammish repetition", "fbcea83c8a378bf1"),
        ]
    )
    func vectors(input: String, expected: String) {
        var hasher = ContentHasher()
        Array(input.utf8).withUnsafeBytes { hasher.update($0) }
        #expect(String(hasher.digest, radix: 16).leftPadded(16) == expected)
    }

    @Test("the digest does not depend on how the stream is chunked")
    func chunking() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<10_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var whole = ContentHasher()
        bytes.withUnsafeBytes { whole.update($0) }
        for _ in 0..<50 {
            var pieces = ContentHasher()
            var start = 0
            while start < bytes.count {
                let length = Int.random(in: 0...97)
                let end = min(bytes.count, start + length)
                bytes[start..<end].withUnsafeBytes { pieces.update($0) }
                start = end
            }
            #expect(pieces.fingerprint == whole.fingerprint)
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
