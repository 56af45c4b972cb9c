import Foundation

/// The body a webhook receives.
public enum WebhookPayload: String, Sendable, Codable, CaseIterable {
    /// The alert JSON itself (the same object the other sinks get).
    case json
    /// `{"text": "..."}`: Slack incoming webhooks, Mattermost, Rocket.Chat, Google Chat.
    case slack
    /// A `MessageCard` with `title` and `text`: Microsoft Teams incoming webhooks / workflows.
    case teams
}

/// A webhook sink's settings.
public struct WebhookSettings: Sendable, Equatable {
    /// The URL that receives a JSON POST.
    public var url: String
    /// The body shape.
    public var payload: WebhookPayload = .json
    /// Seconds to wait for each attempt.
    public var timeoutSeconds: Double = 5
    /// Attempts after the first one when an attempt fails (connection error, timeout, 5xx, 429).
    public var retries = 2
    /// Seconds before the first retry; doubled before each further retry.
    public var backoffSeconds: Double = 0.5
    /// Extra request headers, such as `Authorization`.
    public var headers: [String: String] = [:]

    /// Creates settings with the defaults: JSON body, 5 s timeout, 2 retries, 0.5 s backoff doubling.
    ///
    /// - Parameter url: The URL.
    public init(url: String) {
        self.url = url
    }
}

/// An exec sink's settings.
public struct ExecSettings: Sendable, Equatable {
    /// The program and its arguments (no shell; use `[sh, -c, "..."]` for one).
    public var command: [String]
    /// Seconds before the program is terminated.
    public var timeoutSeconds: Double = 10

    /// Creates settings with a 10 s timeout.
    ///
    /// - Parameter command: The program and its arguments.
    public init(command: [String]) {
        self.command = command
    }
}

/// Where alerts go.
public enum SinkConfiguration: Sendable, Equatable {
    /// One JSON object per line on standard output.
    case stdout
    /// One JSON object per line appended to a file (created when missing).
    case file(path: String)
    /// An HTTP(S) POST.
    case webhook(WebhookSettings)
    /// A program run once per alert with the alert JSON on standard input.
    case exec(ExecSettings)

    /// A short name for reports: `stdout`, `file:PATH`, `webhook:URL-without-query`, `exec:PROGRAM`.
    public var label: String {
        switch self {
        case .stdout: "stdout"
        case .file(let path): "file:\(path)"
        case .webhook(let settings):
            // Webhook URLs carry secrets in their path or query: show the host only.
            "webhook:\(Self.redacted(settings.url))"
        case .exec(let settings): "exec:\(settings.command.first ?? "")"
        }
    }

    /// The scheme and host of a URL, without path or query (which often hold tokens).
    static func redacted(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return "(url)" }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        // `user:password@host`: the credentials are secrets too.
        let host = authority.lastIndex(of: "@").map { authority[authority.index(after: $0)...] } ?? authority
        return String(url[..<schemeEnd.upperBound]) + host + "/…"
    }
}
