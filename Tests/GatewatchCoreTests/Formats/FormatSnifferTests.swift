import Foundation
import Testing

@testable import GatewatchCore

@Suite struct FormatSnifferTests {
    @Test("UTF-16 logs are named as such, with or without a byte-order mark, in either byte order")
    func utf16() throws {
        let text = "#Software: Microsoft Internet Information Services 10.0\r\n#Fields: date time c-ip\r\n"
        let little = Array(text.data(using: .utf16LittleEndian) ?? Data())
        let big = Array(text.data(using: .utf16BigEndian) ?? Data())
        for head in [little, big, [0xFF, 0xFE] + little, [0xFE, 0xFF] + big] {
            let reason = try #require(FormatSniffer.rejectW3C(head))
            #expect(reason.contains("UTF-16"), "\(reason)")
        }
        #expect(FormatSniffer.rejectW3C(Array(text.utf8)) == nil)
        // Other binary input keeps its own reason.
        #expect(FormatSniffer.rejectW3C([0x1F, 0x8B, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) == "it contains NUL bytes")
    }
}
