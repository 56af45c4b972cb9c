import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// POSTs alerts to webhooks with a timeout per attempt, retries and doubling backoff.
enum WebhookClient {
    /// The request body for a payload style.
    static func body(for alert: Alert, json: String, payload: WebhookPayload) -> Data {
        switch payload {
        case .json:
            return Data(json.utf8)
        case .slack:
            // Slack treats &, < and > as control characters in message text.
            let text = alert.text.replacingOccurrences(of: "&", with: "&amp;")
                .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            return Data(((try? JSONOutput.encode(["text": text])) ?? "{}").utf8)
        case .teams:
            let card: [String: String] = [
                "@type": "MessageCard",
                "@context": "https://schema.org/extensions",
                "summary": alert.summary,
                "title": "gatewatch \(alert.rule) [\(alert.severity)]",
                "themeColor": alert.severity == "critical"
                    ? "D13438" : (alert.severity == "warning" ? "FFB900" : "0078D4"),
                // Teams renders Markdown: two spaces before a newline keep the lines apart.
                "text": alert.text.replacingOccurrences(of: "\n", with: "  \n"),
            ]
            return Data(((try? JSONOutput.encode(card)) ?? "{}").utf8)
        }
    }

    /// Delivers one alert; returns the error after the last attempt (or `nil`) and the attempts made.
    static func deliver(_ alert: Alert, json: String, settings: WebhookSettings) -> (SinkError?, Int) {
        let target = SinkConfiguration.redacted(settings.url)
        guard let url = URL(string: settings.url) else {
            return (.webhookFailed(target: target, attempts: 0, lastProblem: "the URL is not valid"), 0)
        }
        var request = URLRequest(url: url, timeoutInterval: settings.timeoutSeconds)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("gatewatch", forHTTPHeaderField: "User-Agent")
        for (name, value) in settings.headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body(for: alert, json: json, payload: settings.payload)
        var delay = settings.backoffSeconds
        var problem = ""
        let attempts = settings.retries + 1
        for attempt in 1...attempts {
            let (status, failure, location) = post(request, timeoutSeconds: settings.timeoutSeconds)
            if let status, (200..<300).contains(status) { return (nil, attempt) }
            if let status, (300..<400).contains(status) {
                // Never followed, and retrying gets the same answer.
                problem = redirectProblem(status: status, location: location)
                return (.webhookFailed(target: target, attempts: attempt, lastProblem: problem), attempt)
            }
            if let status {
                problem = "HTTP status \(status)"
                // Client errors other than throttling will not get better by retrying.
                if (400..<500).contains(status), status != 408, status != 429 {
                    return (.webhookFailed(target: target, attempts: attempt, lastProblem: problem), attempt)
                }
            } else {
                problem = failure ?? "no response"
            }
            if attempt < attempts {
                if delay > 0 { usleep(useconds_t(min(delay, 60) * 1_000_000)) }
                delay *= 2
            }
        }
        return (.webhookFailed(target: target, attempts: attempts, lastProblem: problem), attempts)
    }

    /// One POST; returns the HTTP status (and a redirect's `Location`), or `nil` and the transport problem.
    ///
    /// Redirects are never followed: the request carries the webhook's headers (an
    /// `Authorization` token), and URLSession would send them to wherever a `Location` points,
    /// another host included. A 3xx answer is the attempt's result, and a failed delivery.
    static func post(_ request: URLRequest, timeoutSeconds: Double) -> (Int?, String?, String?) {
        let box = ResponseBox()
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeoutSeconds
        configuration.timeoutIntervalForResource = timeoutSeconds
        // A task with a completion handler follows redirects without asking its delegate
        // (swift-corelibs-foundation): this one reports to a delegate instead.
        let session = URLSession(configuration: configuration, delegate: box, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        let task = session.dataTask(with: request)
        task.resume()
        // The session enforces the timeout; the extra second covers a session that never calls back.
        guard let result = box.wait(seconds: timeoutSeconds + 1) else {
            task.cancel()
            return (nil, "timed out after \(timeoutSeconds) s", nil)
        }
        return (result.0, result.1, box.location)
    }

    /// The problem to report for a redirect, which is never followed.
    static func redirectProblem(status: Int, location: String?) -> String {
        let target = location.map { SinkConfiguration.redacted($0) } ?? "another URL"
        return "HTTP status \(status): the receiver redirects to \(target), and redirects are not followed "
            + "(the request carries the webhook's headers and credentials); configure the final URL"
    }
}

/// Hands a URLSession completion to the waiting thread.
///
/// `@unchecked Sendable`: every access to `result` happens with `condition` locked.
private final class ResponseBox: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let condition = NSCondition()
    private var result: (Int?, String?)?
    private var redirectLocation: String?

    /// The `Location` of the answer, if it had one.
    var location: String? {
        condition.lock()
        defer { condition.unlock() }
        return redirectLocation
    }

    func urlSession(
        _ session: URLSession,
        task: URLSessionTask,
        willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest,
        completionHandler: @escaping @Sendable (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        let response = task.response as? HTTPURLResponse
        condition.lock()
        redirectLocation = response?.value(forHTTPHeaderField: "Location")
        condition.unlock()
        finish(
            status: error == nil ? (task.response as? HTTPURLResponse)?.statusCode : nil,
            problem: error.map { $0.localizedDescription }
        )
    }

    func finish(status: Int?, problem: String?) {
        condition.lock()
        result = (status, status == nil ? (problem ?? "no response") : nil)
        condition.broadcast()
        condition.unlock()
    }

    func wait(seconds: Double) -> (Int?, String?)? {
        let deadline = Date(timeIntervalSinceNow: seconds)
        condition.lock()
        defer { condition.unlock() }
        while result == nil {
            if !condition.wait(until: deadline) { break }
        }
        return result
    }
}
