import Testing

@testable import GatewatchCore

@Suite struct W3CParserTests {
    func parse(_ lines: [String], fallback: W3CLayout = .iisDefault) -> [(W3CParser.LineKind, String?, Int64)] {
        let parser = W3CParser(fallbackLayout: fallback)
        return lines.map { line in
            var bytes = Array(line.utf8)
            return bytes.withUnsafeMutableBytes { raw in
                let kind = parser.parse(UnsafeRawBufferPointer(raw))
                let ip = kind == .record ? parser.field(.clientIP).map { String(decoding: $0, as: UTF8.self) } : nil
                return (kind, ip, kind == .record ? parser.timestamp : 0)
            }
        }
    }

    @Test("#Fields is re-read at every header block; the layout may change mid-file")
    func layoutChange() {
        let results = parse([
            "#Fields: date time c-ip sc-status",
            "2026-11-20 10:00:00 10.0.0.1 200",
            "#Fields: date time s-ip c-ip sc-status",
            "2026-11-20 10:00:01 10.0.0.9 10.0.0.2 200",
            "2026-11-20 10:00:02 10.0.0.3 200",
        ])
        #expect(results[1].1 == "10.0.0.1")
        #expect(results[3].1 == "10.0.0.2")
        #expect(results[4].0 == .malformed(.fieldCount(expected: 5, found: 4)))
    }

    @Test("time-only layouts take the date from #Date; without one the line is malformed")
    func timeOnly() {
        let results = parse(
            [
                "13:00:00 1.1.1.1 GET / 200",
                "#Date: 2000-10-09 16:44:49",
                "#Fields: time c-ip cs-method cs-uri-stem sc-status",
                "16:44:49 1.1.1.1 GET / 200",
            ],
            fallback: W3CLayout(names: ["time", "c-ip", "cs-method", "cs-uri-stem", "sc-status"])
        )
        #expect(results[0].0 == .malformed(.noDate))
        #expect(results[3].0 == .record)
        #expect(UTCTime.format(results[3].2) == "2000-10-09T16:44:49Z")
    }

    @Test("date and time (UTC) win over date-local and time-local wherever they stand; local time is noted")
    func localTimeColumns() {
        let utcLast = W3CLayout(names: ["date-local", "time-local", "date", "time", "c-ip"])
        #expect(!utcLast.usesLocalTime)
        let parser = W3CParser(fallbackLayout: utcLast)
        var bytes = Array("2024-03-01 10:00:00 2024-03-01 09:00:00 1.1.1.1".utf8)
        bytes.withUnsafeMutableBytes { raw in
            #expect(parser.parse(UnsafeRawBufferPointer(raw)) == .record)
            #expect(UTCTime.format(parser.timestamp) == "2024-03-01T09:00:00Z")
            #expect(!parser.readLocalTime)
        }
        let localOnly = W3CParser(fallbackLayout: W3CLayout(names: ["date-local", "time-local", "c-ip"]))
        var local = Array("2024-03-01 10:00:00 1.1.1.1".utf8)
        local.withUnsafeMutableBytes { raw in
            #expect(localOnly.parse(UnsafeRawBufferPointer(raw)) == .record)
            #expect(UTCTime.format(localOnly.timestamp) == "2024-03-01T10:00:00Z")
            #expect(localOnly.readLocalTime)
        }
    }

    @Test("cs-uri without cs-uri-stem is read as the stem and the query")
    func wholeURI() {
        let parser = W3CParser(fallbackLayout: W3CLayout(names: ["date", "time", "c-ip", "cs-uri", "sc-status"]))
        func read(_ text: String) -> (String?, String?) {
            var bytes = Array(text.utf8)
            return bytes.withUnsafeMutableBytes { raw in
                guard parser.parse(UnsafeRawBufferPointer(raw)) == .record else { return ("not a record", nil) }
                func text(_ field: W3CField) -> String? {
                    parser.field(field).map { String(decoding: $0, as: UTF8.self) }
                }
                return (text(.uriStem), text(.uriQuery))
            }
        }
        #expect(read("2024-03-01 10:00:00 1.1.1.1 /a/b?x=1&y=2 200") == ("/a/b", "x=1&y=2"))
        #expect(read("2024-03-01 10:00:00 1.1.1.1 /a/b 200") == ("/a/b", nil))
        #expect(read("2024-03-01 10:00:00 1.1.1.1 \"/a b?q=1\" 200") == ("/a b", "q=1"))
        #expect(read("2024-03-01 10:00:00 1.1.1.1 /a? 200") == ("/a", nil))
        #expect(read("2024-03-01 10:00:00 1.1.1.1 - 200") == (nil, nil))
        // With cs-uri-stem present, cs-uri is not used.
        let both = W3CParser(fallbackLayout: W3CLayout(names: ["date", "time", "c-ip", "cs-uri-stem", "cs-uri"]))
        var bytes = Array("2024-03-01 10:00:00 1.1.1.1 /stem /other?q".utf8)
        bytes.withUnsafeMutableBytes { raw in
            #expect(both.parse(UnsafeRawBufferPointer(raw)) == .record)
            #expect(both.field(.uriStem).map { String(decoding: $0, as: UTF8.self) } == "/stem")
            #expect(both.field(.uriQuery) == nil)
        }
    }

    @Test("a time-only block that goes past midnight dates its later entries the next day")
    func timeOnlyPastMidnight() {
        let results = parse(
            [
                "#Date: 2024-03-01 23:59:00",
                "#Fields: time c-ip sc-status",
                "23:58:57 1.1.1.1 200",  // a little before #Date: the same day
                "23:59:30 1.1.1.1 200",
                "00:00:10 1.1.1.1 200",
                "00:00:09 1.1.1.1 200",  // not strictly ordered: still the next day
                "13:00:00 1.1.1.1 200",
                "00:30:00 1.1.1.1 200",  // and past the next midnight
                "#Date: 2024-03-05 08:00:00",
                "08:00:01 1.1.1.1 200",  // a new #Date starts afresh
            ]
        )
        let times = results.filter { $0.0 == .record }.map { UTCTime.format($0.2) }
        #expect(
            times == [
                "2024-03-01T23:58:57Z", "2024-03-01T23:59:30Z", "2024-03-02T00:00:10Z", "2024-03-02T00:00:09Z",
                "2024-03-02T13:00:00Z", "2024-03-03T00:30:00Z", "2024-03-05T08:00:01Z",
            ]
        )
    }

    @Test("quoted values may hold spaces and doubled quotes; - is empty")
    func quoting() {
        let parser = W3CParser(fallbackLayout: W3CLayout(names: ["date", "time", "c-ip", "cs(User-Agent)", "cs-host"]))
        var bytes = Array("\"2017-06-28\" \"07:26:35\" \"1.2.3.4\" \"Mozilla/5.0 (X; \"\"Y\"\")\" -".utf8)
        bytes.withUnsafeMutableBytes { raw in
            #expect(parser.parse(UnsafeRawBufferPointer(raw)) == .record)
            #expect(parser.field(.clientIP).map { String(decoding: $0, as: UTF8.self) } == "1.2.3.4")
            #expect(
                parser.field(.userAgent).map { String(decoding: $0, as: UTF8.self) } == "Mozilla/5.0 (X; \"\"Y\"\")"
            )
            #expect(parser.field(.host) == nil)
        }
    }

    @Test(
        "bad timestamps, unterminated quotes and NUL bytes are malformed with a reason",
        arguments: [
            ("2026-13-01 10:00:00 1.1.1.1 GET / - 80 - 1.1.1.1 - - 200 0 0 1", MalformedReason.badTimestamp),
            ("2026-02-30 10:00:00 1.1.1.1 GET / - 80 - 1.1.1.1 - - 200 0 0 1", .badTimestamp),
            ("2026-01-01 25:00:00 1.1.1.1 GET / - 80 - 1.1.1.1 - - 200 0 0 1", .badTimestamp),
            ("2026-01-01 10:00:00 1.1.1.1 GET / - 80 - 1.1.1.1 \"open - 200 0 0 1", .unterminatedQuote),
            ("\u{0}\u{0}\u{0}", .binary),
        ]
    )
    func malformed(line: String, reason: MalformedReason) {
        #expect(parse([line])[0].0 == .malformed(reason))
    }

    @Test("directives in any order, misspelled, with comments, and blank lines are tolerated")
    func directives() {
        let results = parse([
            "#Date: 2021-04-01 00:00:00  // comment",
            "#Fields: date time c-ip   sc-status ",
            "#Verson: 1.0",
            "",
            "   ",
            "2021-04-01 00:00:21 222.222.222.222 200",
        ])
        #expect(results.map(\.0) == [.directive, .directive, .directive, .blank, .blank, .record])
        #expect(UTCTime.format(results[5].2) == "2021-04-01T00:00:21Z")
    }

    @Test("a layout wider than the token slots still parses (found by fuzzing: 600 fields)")
    func wideLayout() {
        let names = ["date", "time"] + (0..<597).map { "x-f\($0)" } + ["c-ip"]
        let values = ["2026-11-20", "10:00:00"] + (0..<597).map { String($0) } + ["198.51.100.7"]
        let results = parse(["#Fields: " + names.joined(separator: " "), values.joined(separator: " ")])
        #expect(results[1].0 == .record)
        #expect(results[1].1 == "198.51.100.7")
    }

    @Test(
        "an FTP or SMTP block is recognised by its #Software, its #Fields or its first record",
        arguments: [
            (
                "#Software: Microsoft FTP Service", "#Fields: date time c-ip cs-method cs-uri-stem", "GET /",
                W3CService.ftp
            ),
            ("#Software: Microsoft SMTP Service", "#Fields: date time c-ip cs-method cs-uri-stem", "GET /", .smtp),
            (
                "#Software: Microsoft Internet Information Services 10.0",
                "#Fields: date time c-ip cs-method cs-uri-stem x-session", "GET / s1", .ftp
            ),
            ("#Software: x", "#Fields: date time c-ip cs-method cs-uri-stem", "DataChannelOpened -", .ftp),
            ("#Software: x", "#Fields: date time c-ip cs-method cs-uri-stem", "[14]created a.txt", .ftp),
            ("#Software: x", "#Fields: date time c-ip cs-method cs-uri-stem", "retr a.txt", .ftp),
            ("#Software: x", "#Fields: date time c-ip cs-method cs-uri-stem", "RCPT -", .smtp),
            ("#Software: x", "#Fields: date time c-ip cs-method cs-uri-stem s-sitename", "QUIT - SMTPSVC2", .smtp),
            ("#Software: x", "#Fields: date time c-ip cs-method cs-uri-stem s-sitename", "- - MSFTPSVC1", .ftp),
            ("#Software: x", "#Fields: date time c-ip cs-method cs-uri-stem", "OPTIONS *", nil),
            ("#Software: x", "#Fields: date time c-ip cs-method cs-uri-stem", "PROPFIND /dav", nil),
            // A command word with an HTTP path is a client's request (a scanner's), not an FTP session.
            ("#Software: x", "#Fields: date time c-ip cs-method cs-uri-stem", "USER /", nil),
            ("#Software: x", "#Fields: date time c-ip cs-method cs-uri-stem", "EHLO /index.html", nil),
        ]
    )
    func nonHTTPBlocks(software: String, fields: String, record: String, service: W3CService?) {
        let line = "2026-11-20 10:00:00 198.51.100.7 " + record
        let results = parse([software, fields, line, line])
        let expected: W3CParser.LineKind = service.map { .skipped($0) } ?? .record
        #expect(results[2].0 == expected)
        #expect(results[3].0 == expected)
        // The next block is read on its own.
        let next = parse([
            software, fields, line, "#Software: Microsoft Internet Information Services 10.0",
            "#Fields: date time c-ip cs-method", "2026-11-20 10:00:01 198.51.100.7 GET",
        ])
        #expect(next[5].0 == .record)
    }

    @Test(
        "the IIS version is read from #Software",
        arguments: [
            ("Microsoft Internet Information Services 7.5", 7), ("Microsoft Internet Information Services 10.0", 10),
            ("Microsoft Internet Information Server 4.0", 4), ("Microsoft Internet Information Services 8.0", 8),
            ("Microsoft HTTP Server API 2.0", nil), ("IIS Advanced Logging Module", nil),
        ]
    )
    func iisVersion(software: String, version: Int?) {
        #expect(W3CParser.iisMajorVersion(software: software) == version)
    }

    /// Values of `sc-status sc-substatus sc-bytes time-taken`, what they read as, and the field
    /// named when the line is malformed.
    static let numericCases: [(String, [Int64?], String?)] = [
        ("200 0 1405 13", [200, 0, 1405, 13], nil),
        ("- 0 - -", [nil, 0, nil, nil], nil),
        ("\"200\" 0 1 1", [200, 0, 1, 1], nil),
        ("200 0 1X405 13", [], "sc-bytes"),
        ("200 0 1405 13X7", [], "time-taken"),
        ("200 X 1 1", [], "sc-substatus"),
        ("-1 0 1 1", [], "sc-status"),
        ("200 0 99999999999999999999 1", [200, 0, 1 << 40, 1], nil),
        // time-taken as the W3C draft's fixed-point seconds (CloudFront): milliseconds.
        ("200 0 1 0.002", [200, 0, 1, 2], nil),
        ("200 0 1 12.5", [200, 0, 1, 12_500], nil),
        ("200 0 1 1.2.3", [], "time-taken"),
        ("200 0 1.5 1", [], "sc-bytes"),
    ]

    @Test(
        "numeric fields are all digits or absent ('-'); anything else is malformed, naming the field",
        arguments: numericCases
    )
    func numbers(values: String, expected: [Int64?], field: String?) {
        let parser = W3CParser(
            fallbackLayout: W3CLayout(names: [
                "date", "time", "c-ip", "sc-status", "sc-substatus", "sc-bytes", "time-taken",
            ])
        )
        var bytes = Array("2026-11-20 10:00:00 198.51.100.7 \(values)".utf8)
        let kind = bytes.withUnsafeMutableBytes { parser.parse(UnsafeRawBufferPointer($0)) }
        if let field {
            #expect(kind == .malformed(.notANumber(field: field)))
            #expect(MalformedReason.notANumber(field: field).description.hasPrefix(field + " is not a number"))
            return
        }
        #expect(kind == .record)
        let read = [W3CField.status, .substatus, .bytesSent, .timeTaken].map { parser.number($0) }
        #expect(read == expected)
    }
}
