/// A W3C extended log written by a service that is not a web server (IIS FTP, IIS SMTP): its
/// records are sessions and mail commands, not HTTP requests, and are skipped with a reason.
///
/// IIS writes each service's log in a folder of its own (`W3SVC1/`, `FTPSVC2/`, `SMTPSVC1/`) in
/// the same W3C format, so a log tree copied whole holds them side by side. A header block is
/// recognised as non-HTTP by its `#Software` (one that names FTP or SMTP), by FTP's own columns
/// (`x-session`, `x-fullpath`), or else by its first record: an FTP or SMTP command in `cs-method`
/// (`USER`, `PASS`, `ControlChannelOpened`, IIS 6's `[1]USER`, `EHLO`, `MAIL`, `RCPT`, …) or an
/// `s-sitename` of `FTPSVC`/`MSFTPSVC`/`SMTPSVC`. One service writes a whole block.
public enum W3CService: String, Sendable, Equatable {
    /// An FTP server's log.
    case ftp
    /// An SMTP server's log.
    case smtp

    /// The skip reason shown in run summaries.
    public var skipReason: String {
        switch self {
        case .ftp: "FTP log (FTP commands and sessions, not HTTP requests)"
        case .smtp: "SMTP log (mail commands, not HTTP requests)"
        }
    }

    /// The service a `#Software` value names, if not a web server.
    ///
    /// - Parameter software: The directive's value.
    /// - Returns: `.ftp` or `.smtp` when the value holds the word `FTP` or `SMTP`, else `nil`.
    static func from(software: String) -> W3CService? {
        let words = software.uppercased().split { !$0.isLetter }
        if words.contains("SMTP") || words.contains("SMTPSVC") { return .smtp }
        if words.contains("FTP") || words.contains("FTPSVC") || words.contains("MSFTPSVC") { return .ftp }
        return nil
    }

    /// `.ftp` when the `#Fields` names hold a column only IIS FTP logs.
    ///
    /// - Parameter fields: The lower-cased `#Fields` names.
    /// - Returns: `.ftp` or `nil`.
    static func from(fields: [String]) -> W3CService? {
        fields.contains { $0 == "x-session" || $0 == "x-fullpath" } ? .ftp : nil
    }

    /// The service of a block from its first record's method and site name.
    ///
    /// A command word is any client's to send (`USER / HTTP/1.1` is a request IIS logs), so it counts
    /// only when `cs-uri-stem` is not an HTTP request's: one that starts with `/` (or is `*`) was
    /// written by a web server, and a scanner's `USER /` at the top of a web log must not hide the
    /// block's requests.
    ///
    /// - Parameters:
    ///   - method: The `cs-method` value, if any.
    ///   - siteName: The `s-sitename` value, if any.
    ///   - uriStem: The `cs-uri-stem` value, if any.
    /// - Returns: `.ftp`, `.smtp`, or `nil` for HTTP (or anything not recognised).
    static func from(
        method: UnsafeRawBufferPointer?,
        siteName: UnsafeRawBufferPointer?,
        uriStem: UnsafeRawBufferPointer? = nil
    ) -> W3CService? {
        if let siteName {
            let site = String(decoding: siteName.prefix(16), as: UTF8.self).uppercased()
            if site.hasPrefix("SMTPSVC") { return .smtp }
            if site.hasPrefix("FTPSVC") || site.hasPrefix("MSFTPSVC") { return .ftp }
        }
        if let uriStem, uriStem.first == UInt8(ascii: "/") || uriStem.elementsEqual("*".utf8) { return nil }
        guard let method, method.count <= 40 else { return nil }
        let verb = String(decoding: method, as: UTF8.self).uppercased()
        // IIS 5/6 FTP logs write the session number before the command: `[12]USER`.
        if verb.first == "[", let close = verb.firstIndex(of: "]") {
            let session = verb[verb.index(after: verb.startIndex)..<close]
            if !session.isEmpty, session.allSatisfy(\.isNumber) { return .ftp }
        }
        if smtpVerbs.contains(verb) { return .smtp }
        if ftpVerbs.contains(verb) { return .ftp }
        // IIS SMTP logs its own outgoing connections as `OutboundConnectionCommand`/`…Response`.
        if verb.hasPrefix("OUTBOUNDCONNECTION") { return .smtp }
        return nil
    }

    /// SMTP commands (RFC 5321 and extensions); `QUIT`, `NOOP` and `AUTH` are FTP's too and are
    /// read as SMTP only with an SMTP site name.
    static let smtpVerbs: Set<String> = [
        "HELO", "EHLO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "VRFY", "EXPN", "STARTTLS", "TURN", "ETRN",
        "ATRN", "XEXCH50", "X-EXPS", "X-LINK2STATE", "X-ANONYMOUSTLS",
    ]

    /// FTP commands (RFC 959 and extensions) and the IIS 7+ FTP service's session events.
    static let ftpVerbs: Set<String> = [
        "USER", "PASS", "ACCT", "CWD", "XCWD", "CDUP", "XCUP", "SMNT", "QUIT", "REIN", "PORT", "PASV", "EPRT", "EPSV",
        "TYPE", "STRU", "MODE", "RETR", "STOR", "STOU", "APPE", "ALLO", "REST", "RNFR", "RNTO", "ABOR", "DELE", "RMD",
        "XRMD", "MKD", "XMKD", "PWD", "XPWD", "LIST", "NLST", "MLSD", "MLST", "SITE", "SYST", "STAT", "HELP", "NOOP",
        "FEAT", "OPTS", "AUTH", "PBSZ", "PROT", "CCC", "SIZE", "MDTM", "HOST", "LANG", "CLNT", "ADAT",
        "CONTROLCHANNELOPENED", "CONTROLCHANNELCLOSED", "DATACHANNELOPENED", "DATACHANNELCLOSED",
    ]
}
