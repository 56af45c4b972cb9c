import ArgumentParser
import Foundation
import GatewatchCore

extension Gatewatch {
    /// `gatewatch ingest`: stream logs into the store.
    struct Ingest: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read backend logs (plain or gzip) into the database, classifying every request.",
            discussion: """
                PATH may be a file, a directory (walked recursively for *.log, *.gz, *.txt, *.json, *.csv; files found there that are not logs are skipped with a note), \
                a quoted glob pattern, or - for standard input. Gzip is recognised by its \
                content, not its name. Content already ingested is recognised by its fingerprint and \
                adds nothing; a file that has grown contributes only its new lines. Each file's ledger \
                row records the policy and layout it was read under: a later run under others says so, \
                and --reingest replaces the file's rows. With no --policy and no --gateway, requests are \
                stored as 'unjudged', not 'allowed'.

                Exit codes: 0 ok; 1 an input could not be read or was damaged (what was read before \
                the damage is kept); 2 usage error, nothing to read, or a policy with unknown \
                configuration (see --accept-config-errors); 3 --strict and malformed lines.
                """
        )

        @OptionGroup var store: StoreOptions
        @OptionGroup var policy: PolicyOptions

        @OptionGroup var reading: ReadingOptions

        @Flag(
            help: ArgumentHelp(
                "Replace what the store holds for these files: remove their rows, then read them as new under this run's policy and layout.",
                discussion:
                    "Rows are per hour and per day, summed over files: every other file with requests on the same days must be named too (the refusal names them)."
            )
        )
        var reingest = false

        @Flag(help: "Exit with code 3 when any line is malformed.")
        var strict = false

        @Flag(help: "Print the run summary as JSON.")
        var json = false

        @Flag(name: .shortAndLong, help: "Print nothing but errors (and the JSON summary with --json).")
        var quiet = false

        @Flag(help: "Also say, on standard error, how gzip inputs are inflated (ISA-L or zlib).")
        var verbose = false

        @Option(
            parsing: .unconditional,
            help: ArgumentHelp(
                "Inputs read at once, one core each (default: the number of cores, at most 4); 1 reads them one after the other.",
                valueName: "n"
            )
        )
        var jobs: Int?

        @Flag(
            help:
                "When the store's verdicts are under another policy, re-judge them under this run's first (as 'gatewatch reclassify'), then ingest."
        )
        var reclassify = false

        @Argument(help: ArgumentHelp("Files, directories, glob patterns, or - for standard input.", valueName: "path"))
        var paths: [String] = []

        func validate() throws {
            if let jobs, !(1...64).contains(jobs) {
                throw ValidationError("--jobs must be between 1 and 64, not \(jobs)")
            }
            if paths.isEmpty {
                throw ValidationError("name at least one file, directory or glob to ingest, or - for standard input")
            }
        }

        func run() throws {
            let configuration: GatewatchConfiguration
            let options: IngestOptions
            do {
                configuration = try policy.configuration()
                var reader = try reading.ingestOptions(configuration: configuration)
                if let jobs { reader.parallelism = jobs }
                reader.reingest = reingest
                options = reader
            } catch {
                throw Gatewatch.badInput(error)
            }
            let loadedPolicy = options.policy ?? GatewatchCore.Policy.allowAll
            Gatewatch.warnAboutAcceptedErrors(in: loadedPolicy)

            let discovery = InputDiscovery.expand(paths)
            let errors = StandardError()
            for problem in discovery.problems { errors.write("error: \(SafeText.terminal(problem.description))\n") }
            guard !discovery.paths.isEmpty else { throw ExitCode(2) }

            let database = try store.open(.create, config: policy.config)
            try admitPolicy(options, into: database, errors: errors)
            if verbose { errors.write("gzip inflate: \(ByteSource.Inflater.preferred.explanation)\n") }
            let progress = ProgressBar(enabled: !quiet && !json && errors.isTerminal)
            let ingestor = Ingestor(store: database, options: options)
            var report: IngestReport
            do {
                report = try ingestor.ingest(discovery.paths) { progress.update($0) }
            } catch let refusal as ReingestError {
                progress.clear()
                errors.write(error: refusal)
                throw ExitCode(2)
            }
            progress.clear()
            // Inputs that were never read failed too: the summary counts them, with the reason.
            report.files += discovery.problems.map(FileReport.init(unread:))

            if json {
                print(try JSONOutput.encode(IngestSummaryJSON(report: report), pretty: true))
            } else if !quiet {
                print(
                    IngestSummaryText.render(report, policy: loadedPolicy, gateways: configuration.gateways),
                    terminator: ""
                )
            }
            if !quiet { warnAboutJudgement(report, policy: loadedPolicy, gateways: configuration.gateways) }
            // A file that is not a log is an error when named, and a note when a directory walk found it.
            let named = Set(paths)
            var failed = false
            let unread = Set(discovery.problems.map(\.path))
            for file in report.files where !unread.contains(file.path) {
                guard let error = file.error else { continue }
                if file.status == .unsupported, !named.contains(file.path) {
                    if !quiet { errors.write("note: skipped \(SafeText.terminal(error))\n") }
                } else {
                    errors.write("error: \(SafeText.terminal(error))\n")
                    failed = true
                }
            }
            if failed || !discovery.problems.isEmpty { throw ExitCode(1) }
            if strict, report.malformed > 0 {
                errors.write("error: \(report.malformed) malformed lines (--strict)\n")
                throw ExitCode(3)
            }
        }
    }
}

extension Gatewatch.Ingest {
    /// Refuses a run whose policy is not the one the store's verdicts are under (exit 2), unless
    /// `--reclassify` re-judges the store under it first.
    func admitPolicy(_ options: IngestOptions, into database: Store, errors: StandardError) throws {
        let declaration = PolicyDeclaration(options: options)
        do {
            try PolicyRegistry.admit(declaration, into: database)
        } catch let mismatch as PolicyMismatch {
            guard reclassify else {
                errors.write(error: mismatch)
                throw ExitCode(2)
            }
            do {
                let result = try Reclassifier(declaration: declaration).run(store: database)
                if !quiet, !json { errors.write(Gatewatch.Reclassify.render(result)) }
            } catch let refusal as RejudgementError {
                errors.write(error: refusal)
                throw ExitCode(2)
            }
        }
    }

    /// Says, once, when nothing judged the requests, and which command replaces the rows of files
    /// read before under other settings.
    func warnAboutJudgement(_ report: IngestReport, policy: GatewatchCore.Policy, gateways: [CIDR]) {
        let errors = StandardError()
        let unjudged = report.byVerdict[Verdict.unjudged.rawValue] ?? 0
        if unjudged > 0 {
            errors.write(
                "warning: nothing to judge against: give --gateway or --policy (\(unjudged) requests are stored as "
                    + "'unjudged', not 'allowed')\n"
            )
        }
        let changed = report.files.count { $0.readUnderOtherSettings }
        guard changed > 0 else { return }
        var arguments = Array(CommandLine.arguments.dropFirst())
        if !arguments.contains("--reingest") {
            let command = arguments.firstIndex(of: "ingest").map { $0 + 1 } ?? 0
            arguments.insert("--reingest", at: command)
        }
        let line = (["gatewatch"] + arguments.map(ShellQuote.quote)).joined(separator: " ")
        errors.write(
            "warning: \(changed) input(s) were read before under another policy or layout; the store keeps "
                + "that judgement. To replace their rows, run:\n  \(SafeText.terminal(line))\n"
        )
    }
}

/// Quotes command-line arguments for a POSIX shell.
enum ShellQuote {
    /// The argument as typed: bare when it holds only safe characters, else in single quotes.
    static func quote(_ argument: String) -> String {
        let safe = { (character: Character) in
            character.isASCII && (character.isLetter || character.isNumber || "@%+=:,./_-".contains(character))
        }
        if !argument.isEmpty, argument.allSatisfy(safe) { return argument }
        return "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// The `--json` shape of an ingest run.
struct IngestSummaryJSON: Encodable {
    var filesNew: Int
    var filesKnown: Int
    var filesGrown: Int
    var filesFailed: Int
    var filesUnsupported: Int
    var filesReingested: Int
    var lines: Int
    var requests: Int
    var skipped: Int
    var malformed: Int
    var otherLines: Int
    var malformedSamples: [MalformedSample]
    var first: String?
    var last: String?
    var byVerdict: [String: Int]
    var direct: [String: Int]
    var elapsedSeconds: Double
    var megabytesPerSecond: Double
    var files: [FileReport]
    var notes: [String]
    var platformDenied: Int

    init(report: IngestReport) {
        notes = report.notes
        filesNew = report.filesNew
        filesKnown = report.filesKnown
        filesGrown = report.filesGrown
        filesFailed = report.filesFailed
        filesUnsupported = report.filesUnsupported
        filesReingested = report.filesReingested
        lines = report.lines
        requests = report.requests
        skipped = report.skipped
        malformed = report.malformed
        otherLines = report.otherLines
        malformedSamples = report.malformedSamples
        first = report.first
        last = report.last
        byVerdict = report.byVerdict
        direct = ["blocked": report.blocked, "served": report.served]
        platformDenied = report.platformDenied
        elapsedSeconds = (report.elapsedSeconds * 1000).rounded() / 1000
        megabytesPerSecond = (report.megabytesPerSecond * 10).rounded() / 10
        files = report.files
    }

    enum CodingKeys: String, CodingKey {
        case filesNew = "files_new"
        case filesKnown = "files_known"
        case filesGrown = "files_grown"
        case filesFailed = "files_failed"
        case filesUnsupported = "files_unsupported"
        case filesReingested = "files_reingested"
        case lines, requests, skipped, malformed
        case otherLines = "other_lines"
        case malformedSamples = "malformed_samples"
        case first, last
        case byVerdict = "by_verdict"
        case direct
        case elapsedSeconds = "elapsed_seconds"
        case megabytesPerSecond = "mb_per_second"
        case files, notes
        case platformDenied = "platform_denied"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(filesNew, forKey: .filesNew)
        try container.encode(filesKnown, forKey: .filesKnown)
        try container.encode(filesGrown, forKey: .filesGrown)
        try container.encode(filesFailed, forKey: .filesFailed)
        try container.encode(filesUnsupported, forKey: .filesUnsupported)
        try container.encode(filesReingested, forKey: .filesReingested)
        try container.encode(lines, forKey: .lines)
        try container.encode(requests, forKey: .requests)
        try container.encode(skipped, forKey: .skipped)
        try container.encode(malformed, forKey: .malformed)
        try container.encode(otherLines, forKey: .otherLines)
        try container.encode(malformedSamples, forKey: .malformedSamples)
        try container.encode(first, forKey: .first)
        try container.encode(last, forKey: .last)
        try container.encode(byVerdict, forKey: .byVerdict)
        try container.encode(direct, forKey: .direct)
        try container.encode(elapsedSeconds, forKey: .elapsedSeconds)
        try container.encode(megabytesPerSecond, forKey: .megabytesPerSecond)
        try container.encode(files, forKey: .files)
        try container.encode(notes, forKey: .notes)
        try container.encode(platformDenied, forKey: .platformDenied)
    }
}

/// The human-readable run summary.
enum IngestSummaryText {
    static func number(_ value: Int) -> String {
        let digits = String(value)
        var output = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0, character != "-" { output.append(",") }
            output.append(character)
        }
        return output
    }

    static func render(_ report: IngestReport, policy: GatewatchCore.Policy, gateways: [CIDR]) -> String {
        var text = ""
        let seconds = String(format: "%.2f", report.elapsedSeconds)
        let speed = String(format: "%.1f", report.megabytesPerSecond)
        text += "Ingested \(report.files.count) input\(report.files.count == 1 ? "" : "s"): "
        text += "\(report.filesNew) new, \(report.filesKnown) already known, \(report.filesGrown) grown, "
        text += "\(report.filesFailed) failed"
        if report.filesUnsupported > 0 { text += ", \(report.filesUnsupported) not a log" }
        text += " — \(seconds) s, \(speed) MB/s\n"
        if report.filesReingested > 0 {
            text += "  --reingest: the rows of \(report.filesReingested) earlier ledger entr"
            text += report.filesReingested == 1 ? "y were removed first\n" : "ies were removed first\n"
        }
        text += "  lines \(number(report.lines))   requests \(number(report.requests))"
        text += "   skipped \(number(report.skipped))   malformed \(number(report.malformed))"
        text += "   other \(number(report.otherLines))\n"
        if let first = report.first, let last = report.last {
            text += "  time range \(first) … \(last)\n"
        }
        // `unjudged` only when there is some: a run with a policy or gateways judges everything.
        let verdicts = Verdict.allCases.compactMap { verdict -> String? in
            let count = report.byVerdict[verdict.rawValue] ?? 0
            return verdict == .unjudged && count == 0 ? nil : "\(verdict.rawValue) \(number(count))"
        }
        text += "  verdicts: " + verdicts.joined(separator: "   ")
        text += "  (direct: blocked \(number(report.blocked)), served \(number(report.served)))\n"
        text += "  policy: \(SafeText.terminal(policy.source))"
        text +=
            gateways.isEmpty
            ? "; no gateway addresses given (--gateway)\n"
            : "; gateways \(gateways.map(\.description).joined(separator: ", "))\n"
        if report.platformDenied > 0 {
            text += "  warning: the allowlist denies \(number(report.platformDenied)) platform requests "
            text +=
                "(Always On, health checks, probes): allow loopback and the probe addresses, or the site will be taken out of rotation\n"
        }
        for note in report.notes { text += "  note: \(SafeText.terminal(note))\n" }
        if !report.malformedSamples.isEmpty {
            text += "Malformed lines (first \(report.malformedSamples.count) of \(number(report.malformed))):\n"
            for sample in report.malformedSamples {
                let preview = sample.text.count > 80 ? String(sample.text.prefix(80)) + "…" : sample.text
                text +=
                    "  \(SafeText.terminal(sample.path)):\(sample.line): \(SafeText.terminal(sample.reason)): '\(SafeText.terminal(preview))'\n"
            }
        }
        for file in report.files where file.status == .failed {
            text += "  failed: \(SafeText.terminal(file.error ?? file.path))\n"
        }
        for file in report.files where !file.warnings.isEmpty {
            for warning in file.warnings {
                text += "  \(SafeText.terminal(file.path)): \(SafeText.terminal(warning))\n"
            }
        }
        return text
    }
}
