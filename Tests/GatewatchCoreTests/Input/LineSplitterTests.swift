import Testing

@testable import GatewatchCore

@Suite struct LineSplitterTests {
    func split(_ text: [UInt8], chunk: Int, maximum: Int = 1 << 20) -> ([String], [Int64]) {
        var splitter = LineSplitter(maximumLineLength: maximum)
        var lines: [String] = []
        var ends: [Int64] = []
        let handle: (LineSplitter.Event, Int64) -> Void = { event, end in
            switch event {
            case .line(let bytes): lines.append(String(decoding: bytes, as: UTF8.self))
            case .overlong(let count): lines.append("<overlong \(count)>")
            }
            ends.append(end)
        }
        var start = 0
        while start < text.count {
            let end = min(text.count, start + chunk)
            text[start..<end].withUnsafeBytes { splitter.feed($0, handle) }
            start = end
        }
        splitter.finish(handle)
        return (lines, ends)
    }

    @Test("CRLF and LF, across every chunk size, with an unterminated last line", arguments: [1, 2, 3, 7, 64, 4096])
    func lines(chunk: Int) {
        let text = Array("first\r\nsecond\n\r\nfourth\nlast".utf8)
        let (lines, ends) = split(text, chunk: chunk)
        #expect(lines == ["first", "second", "", "fourth", "last"])
        #expect(ends == [7, 14, 16, 23, 27])
    }

    @Test("over-long lines are reported by length and do not swallow their neighbours", arguments: [1, 5, 100])
    func overlong(chunk: Int) {
        let long = String(repeating: "x", count: 50)
        let text = Array("short\n\(long)\nafter\n\(long)".utf8)
        let (lines, _) = split(text, chunk: chunk, maximum: 20)
        #expect(lines == ["short", "<overlong 50>", "after", "<overlong 50>"])
    }
}
