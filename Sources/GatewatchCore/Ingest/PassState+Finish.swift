import Foundation

extension PassState {
    /// Whether a plain file's unterminated last line is visibly cut short (a writer in the middle
    /// of it): a W3C record with fewer values than `#Fields` declares, or a gateway record its
    /// consumer calls unfinished (``RecordConsumer/leavesUnterminatedLine(_:)``).
    ///
    /// Such a line is left for the next run, as follow mode does, instead of being counted as
    /// malformed now and its rest skipped once the file has grown. An unterminated last line that
    /// reads as a whole record is a line (many files end without a newline).
    func partialLineIsCut() -> Bool {
        if let consumer {
            guard splitter.withPartialLine({ consumer.leavesUnterminatedLine($0) }) == true else { return false }
            warnings.append(
                "the last line is an unterminated record cut short: left for the next run, once the file has grown"
            )
            return true
        }
        let verdict: (Bool, String)? = splitter.withPartialLine { bytes in
            if case .malformed(.fieldCount(let expected, let found)) = parser.parse(bytes), found < expected {
                return (true, "\(found) of the \(expected) values")
            }
            return (false, "")
        }
        guard let (cut, what) = verdict, cut else { return false }
        warnings.append(
            "the last line is unterminated and cut short (\(what)): left for the next run, once the file has grown"
        )
        return true
    }

    /// Finishes the pass: final line, ledger row, aggregates; decides commit or rollback.
    func finish(failure: (any Error)?) throws -> PassResult {
        let holdsPartialLine =
            failure == nil && !source.isGzip && file.path != "-" && splitter.hasPartialLine
            && (options.holdPartialLastLine || partialLineIsCut())
        if failure == nil, !holdsPartialLine {
            // The input is complete: an unterminated last line is a line.
            try splitter.finish { event, lineEnd in try handle(event, lineEnd: lineEnd) }
        } else if splitter.hasPartialLine {
            if failure != nil { warnings.append("an incomplete line at the point of failure was not counted") }
            splitter.discardPartialLine()
        }
        let upToBoundary = failure != nil || holdsPartialLine
        let consumedBytes = upToBoundary ? boundaryHasher.byteCount : hasher.byteCount
        let fingerprint = upToBoundary ? boundaryHasher.fingerprint : hasher.fingerprint
        let endsWithNewline = upToBoundary || hasher.byteCount == boundaryHasher.byteCount
        if let resume {
            guard resumeVerified || resume.bytes == 0 else {
                // The input ended before the candidate's length: not the same file.
                return .restart(remaining: candidates.filter { $0.bytes < resume.bytes })
            }
            if consumedBytes <= resume.bytes {
                // Nothing new: nothing to write (a deferred pass never takes the write lock). In
                // a parallel run, only once the earlier inputs that share this head are written
                // and the ledger still says so, as it would have in a sequential run.
                if transaction.writer == nil, let inFlight = file.inFlight {
                    inFlight.heads.waitForEarlier(inFlight.index, head: head)
                    try checkLedgerUnchanged()
                }
                return .done(knownReport(fileReportBase()), commit: false)
            }
        }
        let differences = resume.map { basisDifferences(from: $0.recorded) } ?? []
        PhaseTrace.mark("M \(file.path): parsed \(counts.lines) lines")
        let lockedBefore = transaction.isOpen
        let writer = try activeWriter()
        if !lockedBefore { PhaseTrace.mark("M \(file.path): write lock taken, held evidence written") }
        // Before any other use of the connection: the writer thread must be done with it.
        try finishWriterThread()
        PhaseTrace.mark("M writer thread done")
        if let consumer, let leftOver = try consumer.flush(db: writer.database, fileID: fileID, final: true) {
            count(leftOver, text: nil)  // a record left open at the end of the input
        }
        var report = fileReportBase()
        if let resume {
            report.status = failure == nil ? .grown : .failed
            warnings.append("resumed after line \(resume.lines) (byte \(resume.bytes)), ingested earlier")
            if !differences.isEmpty {
                report.readUnderOtherSettings = true
                warnings.append(Self.basisWarning(differences, grown: true))
            }
        } else {
            // The same content read from standard input, or under a head seen differently.
            if try Ledger(db).holdsFingerprint(fingerprint, besides: fileID) {
                return .done(knownReport(report), commit: false)
            }
            report.status = failure == nil ? .new : .failed
        }
        warnings += anomalies.warnings(clientAddress: options.clientAddress)
        if counts.lines == 0, resume == nil {
            warnings.append("empty input: it holds no lines")
        }
        if anomalies.bareCarriageReturnLine > 0 {
            warnings.append(
                "line \(anomalies.bareCarriageReturnLine): a directive goes on after a carriage return; lines that end with CR"
                    + " alone are not line breaks here (convert the file to CRLF or LF)"
            )
        }
        if consumer == nil, !parser.sawFieldsDirective, counts.requests + counts.malformed > 0 {
            let names = parser.fallbackLayout.names.count
            warnings.append(
                parser.fallbackLayout == .iisDefault
                    ? "no #Fields directive: read with IIS's default \(names)-column layout (pass --fields to name another)"
                    : "no #Fields directive: read with the \(names)-column layout given by --fields"
            )
        }
        if consumer == nil, parser.readLocalTime {
            warnings.append(
                "records dated by date-local/time-local (the server's local time, its offset not logged) are"
                    + " stored as if that time were UTC"
            )
        }
        for reason in anomalies.skipReasons { warnings.append("records skipped: \(reason)") }
        PhaseTrace.mark("M last flush: \(aggregator.count) hourly, \(inventories.count) inventory and latency keys")
        try writer.flush(&aggregator)
        try writer.flush(&inventories, aggregator: aggregator)
        try writer.finishInput()
        PhaseTrace.mark("M last flush written")
        let ledger = Ledger(writer.database)
        try ledger.complete(
            id: fileID,
            LedgerUpdate(
                fingerprint: fingerprint,
                headHash: headHashText,
                headLength: headLength,
                path: file.path,
                format: consumer?.formatName ?? "w3c",
                compressed: source.isGzip,
                bytes: consumedBytes,
                lines: (resume?.lines ?? 0) + counts.lines,
                requests: counts.requests,
                skipped: counts.skipped,
                malformed: counts.malformed,
                endsWithNewline: endsWithNewline,
                first: times.earliest,
                last: times.latest,
                status: failure == nil ? .complete : .error,
                error: failure.map { "\($0)" }
            )
        )
        try ledger.recordBasis(id: fileID, recordedBasis())
        if consumer == nil {
            // The mode first: the trim deletes only rows of sampled files, this one's included.
            try ledger.recordEvidence(id: fileID, options.evidence, grown: resume != nil)
            try trimEvidence(writer.database)
        }
        for sample in samples {
            try ledger.insertMalformed(fileID: fileID, line: sample.line, reason: sample.reason, text: sample.text)
        }
        report.error = failure.map { "\($0)" }
        report.warnings = warnings
        return .done(report, commit: true)
    }

    func knownReport(_ base: FileReport) -> FileReport {
        var report = base
        report.status = .known
        let differences = resume.map { basisDifferences(from: $0.recorded) } ?? []
        if !differences.isEmpty {
            report.readUnderOtherSettings = true
            report.warnings = [Self.basisWarning(differences, grown: false)]
        }
        report.lines = 0
        report.requests = 0
        report.skipped = 0
        report.malformed = 0
        report.otherLines = 0
        report.bytes = 0
        report.first = nil
        report.last = nil
        return report
    }

    /// How the settings a ledger row was read under differ from this run's (nothing for gateway
    /// logs, which no allowlist or `--fields` applies to).
    func basisDifferences(from recorded: RecordedBasis) -> [String] {
        guard consumer == nil else { return [] }
        return file.ingestor.basis.differences(from: recorded)
    }

    static func basisWarning(_ differences: [String], grown: Bool) -> String {
        (grown ? "its earlier lines were" : "it was") + " read under other settings ("
            + differences.joined(separator: "; ") + "): what the store holds for "
            + (grown ? "them" : "it") + " was read and judged under those, not this run's; "
            + "run the same command with --reingest to replace its rows"
    }

    /// What the ledger row records: this run's settings, or `mixed` where a grown file's earlier
    /// lines were read under others; `nil` (unknown) where they are unknown, and for gateway logs.
    func recordedBasis() -> RecordedBasis {
        guard consumer == nil else { return RecordedBasis() }
        let current = file.ingestor.basis
        let fields = parser.sawFieldsDirective ? ReadingBasis.fieldsFromDirective : current.fields
        guard let earlier = resume?.recorded else {
            return RecordedBasis(
                policyFingerprint: current.policyFingerprint,
                policySource: current.policySource,
                fields: fields,
                options: current.options
            )
        }
        func merged(_ old: String?, _ new: String) -> String? {
            guard let old else { return nil }
            return old == new ? new : ReadingBasis.mixed
        }
        var result = RecordedBasis(
            policyFingerprint: merged(earlier.policyFingerprint, current.policyFingerprint),
            policySource: earlier.policySource,
            fields: earlier.fields == ReadingBasis.fieldsFromDirective ? fields : merged(earlier.fields, fields),
            options: merged(earlier.options, current.options)
        )
        if result.policyFingerprint == ReadingBasis.mixed, let old = earlier.policySource {
            result.policySource = "mixed: \(old), then \(current.policySource)"
        }
        return result
    }

    func fileReportBase() -> FileReport {
        FileReport(
            path: file.path,
            status: .new,
            format: consumer?.formatName ?? "w3c",
            compressed: source.isGzip,
            lines: counts.lines,
            requests: counts.requests,
            skipped: counts.skipped,
            malformed: counts.malformed,
            otherLines: counts.otherLines,
            bytes: streamOffset - (resume?.bytes ?? 0),
            rawBytes: source.rawOffset,
            first: times.earliest.map(UTCTime.format),
            last: times.latest.map(UTCTime.format),
            error: nil,
            warnings: []
        )
    }
}
