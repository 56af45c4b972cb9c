import Foundation
import GRDB

/// One libpq connection to a PostgreSQL database, seen as an ``SQLDatabase``.
///
/// libpq rather than postgres-nio: Gatewatch's store API is synchronous (ingest runs on its own
/// threads, one transaction per input), libpq is the reference client every PostgreSQL operator
/// already has, it speaks COPY (the fast path for bulk rows), and it builds in seconds where
/// postgres-nio and SwiftNIO add minutes to every clean build.
///
/// Not thread-safe: one thread at a time (the ingest pipeline hands it between its threads, never
/// using it from two at once).
public final class PostgresConnection: SQLDatabase, @unchecked Sendable {
    private let connection: OpaquePointer
    /// libpq's functions (loaded at run time: fleet mode is optional).
    private let pq: Libpq
    /// The URL with any password removed, for messages.
    public let displayURL: String

    /// Always ``SQLDialect/postgres``.
    public var dialect: SQLDialect { .postgres }

    /// Connects.
    ///
    /// - Parameter url: A libpq connection URI (`postgres://user@host:port/dbname?sslmode=…`);
    ///   a password may come from the URI, `PGPASSWORD` or `~/.pgpass`, as for psql.
    /// - Throws: ``OptionalLibraryError/featureNeeds(feature:library:install:)`` when libpq is not
    ///   installed, ``StoreError/cannotOpen(path:message:)``.
    public init(url: String) throws {
        displayURL = Self.redacted(url)
        let pq = try Libpq.require()
        self.pq = pq
        guard let connection = pq.connectdb(url) else {
            throw StoreError.cannotOpen(path: displayURL, message: "libpq could not allocate a connection")
        }
        guard pq.status(connection) == Libpq.connectionOK else {
            let message = Self.text(pq.errorMessage(connection)).trimmingCharacters(in: .whitespacesAndNewlines)
            pq.finish(connection)
            throw StoreError.cannotOpen(path: displayURL, message: message)
        }
        self.connection = connection
        // Quiet NOTICEs (IF NOT EXISTS…) instead of libpq printing them on stderr.
        pq.setNoticeProcessor(connection, { _, _ in }, nil)
        try execute("SET client_encoding = 'UTF8'", [])
        try execute("SET application_name = 'gatewatch'", [])
    }

    /// A C string libpq returned, or "" for a null pointer.
    private static func text(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        pointer.map { String(cString: $0) } ?? ""
    }

    deinit {
        pq.finish(connection)
    }

    /// The URL without its password: `postgres://user:secret@host/db?password=x&sslmode=require`
    /// → `postgres://user@host/db?sslmode=require`.
    static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        var result = String(url[..<scheme.upperBound])
        let rest = url[scheme.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            result += String(userInfo.prefix { $0 != ":" }) + String(authority[at...])
        } else {
            result += String(authority)
        }
        let tail = rest[authorityEnd...]
        guard let question = tail.firstIndex(of: "?") else { return result + String(tail) }
        result += String(tail[..<question])
        let parameters = tail[tail.index(after: question)...].split(separator: "&").filter {
            !$0.lowercased().hasPrefix("password=")
        }
        return parameters.isEmpty ? result : result + "?" + parameters.joined(separator: "&")
    }

    /// Rewrites `?` placeholders as `$1`, `$2`… outside quotes and comments.
    static func numberPlaceholders(_ sql: String) -> String {
        var output = ""
        output.reserveCapacity(sql.utf8.count + 16)
        var number = 0
        var quote: Character?
        var previous: Character = " "
        var lineComment = false
        for character in sql {
            if lineComment {
                if character == "\n" { lineComment = false }
            } else if let open = quote {
                if character == open { quote = nil }
            } else if character == "'" || character == "\"" {
                quote = character
            } else if character == "-", previous == "-" {
                lineComment = true
            } else if character == "?" {
                number += 1
                output += "$\(number)"
                previous = character
                continue
            }
            output.append(character)
            previous = character
        }
        return output
    }

    private func error(_ result: OpaquePointer?, sql: String) -> SQLError {
        let message: String
        var code = "XX000"
        if let result {
            message = Self.text(pq.resultErrorMessage(result))
            if let state = pq.resultErrorField(result, Int32(UInt8(ascii: "C"))) { code = String(cString: state) }
        } else {
            message = Self.text(pq.errorMessage(connection))
        }
        return SQLError(
            message: message.trimmingCharacters(in: .whitespacesAndNewlines),
            code: code,
            sql: sql
        )
    }

    /// Parameters as text (libpq's text format), NULL as a null pointer.
    private func withParameters<T>(
        _ arguments: [any DatabaseValueConvertible],
        _ body: (Int32, UnsafePointer<UnsafePointer<CChar>?>?) throws -> T
    ) rethrows -> T {
        var texts: [String?] = arguments.map { argument in
            switch argument.databaseValue.storage {
            case .null: nil
            case .int64(let value): String(value)
            case .double(let value): "\(value)"
            case .string(let value): value
            case .blob(let data): "\\x" + data.map { String(format: "%02x", $0) }.joined()
            }
        }
        var pointers: [UnsafeMutablePointer<CChar>?] = texts.indices.map { index in
            texts[index].map { strdup($0) } ?? nil
        }
        defer {
            for pointer in pointers { free(pointer) }
            texts.removeAll()
        }
        return try pointers.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress, !buffer.isEmpty else { return try body(0, nil) }
            return try base.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) {
                try body(Int32(buffer.count), UnsafePointer($0))
            }
        }
    }

    public func execute(_ sql: String, _ arguments: [any DatabaseValueConvertible]) throws {
        _ = try changes(sql, arguments)
    }

    public func changes(_ sql: String, _ arguments: [any DatabaseValueConvertible]) throws -> Int {
        // Without arguments the text goes as written (a `?` there is an operator or literal text).
        let numbered = arguments.isEmpty ? sql : Self.numberPlaceholders(sql)
        let result: OpaquePointer?
        if arguments.isEmpty {
            // Simple protocol: allows several statements in one string (schema scripts).
            result = pq.exec(connection, numbered)
        } else {
            result = withParameters(arguments) { count, values in
                pq.execParams(connection, numbered, count, nil, values, nil, nil, 0)
            }
        }
        defer { pq.clear(result) }
        let status = result.map(pq.resultStatus) ?? Libpq.fatalError
        guard status == Libpq.commandOK || status == Libpq.tuplesOK else {
            throw error(result, sql: sql)
        }
        guard let result, let tuples = pq.cmdTuples(result) else { return 0 }
        return Int(String(cString: tuples)) ?? 0
    }

    public func forEachRow(
        _ sql: String,
        _ arguments: [any DatabaseValueConvertible],
        _ body: (SQLRow) throws -> Void
    ) throws {
        // Without arguments the text goes as written (a `?` there is an operator or literal text).
        let numbered = arguments.isEmpty ? sql : Self.numberPlaceholders(sql)
        let sent = withParameters(arguments) { count, values in
            pq.sendQueryParams(connection, numbered, count, nil, values, nil, nil, 0)
        }
        guard sent == 1 else { throw error(nil, sql: sql) }
        // Row by row, so that a large result never sits in memory whole (when libpq cannot, the
        // whole result arrives at once and is read below all the same).
        _ = pq.setSingleRowMode(connection)
        var columns: [String]?
        var kinds: [ValueKind] = []
        var failure: (any Error)?
        while let result = pq.getResult(connection) {
            defer { pq.clear(result) }
            let status = pq.resultStatus(result)
            if status == Libpq.singleTuple {
                guard failure == nil else { continue }  // drain the rest after an error in body
                if columns == nil {
                    let count = pq.nfields(result)
                    columns = (0..<count).map { Self.text(pq.fname(result, $0)) }
                    kinds = (0..<count).map { ValueKind(oid: pq.ftype(result, $0)) }
                }
                var values: [DatabaseValue] = []
                values.reserveCapacity(kinds.count)
                for column in 0..<Int32(kinds.count) {
                    values.append(value(result, row: 0, column: column, kind: kinds[Int(column)]))
                }
                do {
                    try body(SQLRow(columns: columns ?? [], values: values))
                } catch {
                    failure = error
                }
            } else if status == Libpq.tuplesOK, pq.ntuples(result) > 0, failure == nil {
                // Not in single-row mode: every row in one result.
                let count = pq.nfields(result)
                if columns == nil {
                    columns = (0..<count).map { Self.text(pq.fname(result, $0)) }
                    kinds = (0..<count).map { ValueKind(oid: pq.ftype(result, $0)) }
                }
                for row in 0..<pq.ntuples(result) where failure == nil {
                    let values = (0..<count).map { value(result, row: row, column: $0, kind: kinds[Int($0)]) }
                    do {
                        try body(SQLRow(columns: columns ?? [], values: values))
                    } catch {
                        failure = error
                    }
                }
            } else if status == Libpq.tuplesOK || status == Libpq.commandOK {
                if columns == nil, status == Libpq.tuplesOK {
                    // No rows: the closing result still names the columns.
                    columns = (0..<pq.nfields(result)).map { Self.text(pq.fname(result, $0)) }
                }
                continue
            } else if failure == nil {
                failure = error(result, sql: sql)
            }
        }
        lastColumns = columns ?? []
        if let failure { throw failure }
    }

    /// The column names of the last query run by ``forEachRow(_:_:_:)``, known even when it
    /// returned no rows.
    public private(set) var lastColumns: [String] = []

    /// How a result column's text is decoded.
    enum ValueKind {
        case integer, real, numeric, boolean, bytes, text

        init(oid: UInt32) {
            switch oid {
            case 20, 21, 23, 26: self = .integer
            case 700, 701: self = .real
            case 1700: self = .numeric
            case 16: self = .boolean
            case 17: self = .bytes
            default: self = .text
            }
        }
    }

    private func value(_ result: OpaquePointer, row: Int32, column: Int32, kind: ValueKind) -> DatabaseValue {
        if pq.getisnull(result, row, column) == 1 { return .null }
        guard let pointer = pq.getvalue(result, row, column) else { return .null }
        let length = Int(pq.getlength(result, row, column))
        let text = String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
        switch kind {
        case .integer:
            return Int64(text).map { $0.databaseValue } ?? text.databaseValue
        case .real:
            return Double(text).map { $0.databaseValue } ?? text.databaseValue
        case .numeric:
            if let integer = Int64(text) { return integer.databaseValue }
            if let dot = text.firstIndex(of: "."), text[text.index(after: dot)...].allSatisfy({ $0 == "0" }),
                let integer = Int64(text[..<dot])
            {
                return integer.databaseValue
            }
            return Double(text).map { $0.databaseValue } ?? text.databaseValue
        case .boolean:
            return (text == "t" ? 1 : 0).databaseValue
        case .bytes:
            return text.databaseValue
        case .text:
            return text.databaseValue
        }
    }

    public func appendRows(
        _ table: String,
        columns: [String],
        count: Int,
        _ value: (_ row: Int, _ column: Int) -> StagedValue
    ) throws {
        try copyIn("COPY \(table) (\(columns.joined(separator: ", "))) FROM STDIN") { copy in
            for row in 0..<count {
                for column in columns.indices {
                    switch value(row, column) {
                    case .integer(let number): copy.integer(number)
                    case .text(let text): copy.text(text)
                    }
                }
                try copy.endRow()
            }
        }
    }

    /// Streams rows into a table with `COPY … FROM STDIN` (text format).
    ///
    /// - Parameters:
    ///   - sql: The `COPY table (columns) FROM STDIN` statement.
    ///   - produce: Writes the rows, each a tab-separated line (see ``CopyBuffer``), into the buffer
    ///     it is given; the buffer is sent whenever it fills.
    /// - Throws: ``SQLError``.
    public func copyIn(_ sql: String, _ produce: (inout CopyBuffer) throws -> Void) throws {
        let started = pq.exec(connection, sql)
        let status = started.map(pq.resultStatus) ?? Libpq.fatalError
        if status != Libpq.copyIn {
            defer { pq.clear(started) }
            throw error(started, sql: sql)
        }
        pq.clear(started)
        var buffer = CopyBuffer(connection: self)
        var failure: (any Error)?
        do {
            try produce(&buffer)
            try buffer.send()
        } catch {
            failure = error
        }
        let ended = failure == nil ? pq.putCopyEnd(connection, nil) : pq.putCopyEnd(connection, "aborted by gatewatch")
        var resultError: SQLError?
        while let result = pq.getResult(connection) {
            if pq.resultStatus(result) != Libpq.commandOK, resultError == nil { resultError = error(result, sql: sql) }
            pq.clear(result)
        }
        if let failure { throw failure }
        if ended != 1 { throw error(nil, sql: sql) }
        if let resultError { throw resultError }
    }

    fileprivate func putCopyData(_ bytes: UnsafeRawBufferPointer, sql: String = "COPY") throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let sent = pq.putCopyData(connection, base.assumingMemoryBound(to: CChar.self), Int32(bytes.count))
        guard sent == 1 else { throw error(nil, sql: sql) }
    }
}

/// Rows being written by ``PostgresConnection/copyIn(_:_:)``, in COPY's text format: fields
/// separated by tabs, rows by newlines, `\N` for NULL, backslash escapes in text.
public struct CopyBuffer {
    private let connection: PostgresConnection
    private var bytes: [UInt8] = []
    private var fieldsInRow = 0

    fileprivate init(connection: PostgresConnection) {
        self.connection = connection
        bytes.reserveCapacity(1 << 17)
    }

    private mutating func separator() {
        if fieldsInRow > 0 { bytes.append(0x09) }
        fieldsInRow += 1
    }

    /// Adds a text field (escaped), or NULL for `nil`.
    ///
    /// Bytes that are not UTF-8 (a log written in a legacy code page) are replaced with U+FFFD, as
    /// reading the same text from SQLite would show them; PostgreSQL refuses invalid UTF-8.
    public mutating func text(_ field: UnsafeRawBufferPointer?) {
        separator()
        guard let field else {
            bytes.append(0x5C)
            bytes.append(UInt8(ascii: "N"))
            return
        }
        if field.contains(where: { $0 >= 0x80 }) {
            var repaired = String(decoding: field, as: UTF8.self)
            repaired.withUTF8 { escape(UnsafeRawBufferPointer($0)) }
        } else {
            escape(field)
        }
    }

    private mutating func escape(_ field: UnsafeRawBufferPointer) {
        // Most fields hold nothing to escape: copy them whole.
        if !field.contains(where: { $0 == 0x5C || $0 <= 0x0D }) {
            bytes.append(contentsOf: field)
            return
        }
        for byte in field {
            switch byte {
            case 0x5C:
                bytes.append(0x5C)
                bytes.append(0x5C)
            case 0x09:
                bytes.append(0x5C)
                bytes.append(UInt8(ascii: "t"))
            case 0x0A:
                bytes.append(0x5C)
                bytes.append(UInt8(ascii: "n"))
            case 0x0D:
                bytes.append(0x5C)
                bytes.append(UInt8(ascii: "r"))
            case 0x00: break  // PostgreSQL text cannot hold NUL
            default: bytes.append(byte)
            }
        }
    }

    /// Adds a text field.
    public mutating func text(_ field: String?) {
        guard var field else { return text(nil as UnsafeRawBufferPointer?) }
        field.withUTF8 { text(UnsafeRawBufferPointer($0)) }
    }

    /// Adds an integer field.
    public mutating func integer(_ value: Int64) {
        separator()
        if value == 0 {
            bytes.append(0x30)
            return
        }
        var magnitude = value.magnitude
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var count = 0
        // The digits of any Int64's magnitude (at most 19), least significant first, on the stack.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            while magnitude > 0 {
                buffer[count] = UInt8(48 + magnitude % 10)
                magnitude /= 10
                count += 1
            }
            for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[index]) }
        }
    }

    /// Adds a field from a database value.
    public mutating func value(_ value: DatabaseValue) {
        switch value.storage {
        case .null: text(nil as String?)
        case .int64(let number): integer(number)
        case .double(let double): text("\(double)")
        case .string(let string): text(string)
        case .blob(let data): text("\\x" + data.map { String(format: "%02x", $0) }.joined())
        }
    }

    /// Ends the row; sends the buffer when it is large.
    public mutating func endRow() throws {
        bytes.append(0x0A)
        fieldsInRow = 0
        if bytes.count >= 1 << 17 { try send() }
    }

    fileprivate mutating func send() throws {
        guard !bytes.isEmpty else { return }
        try bytes.withUnsafeBytes { try connection.putCopyData($0) }
        bytes.removeAll(keepingCapacity: true)
    }
}
