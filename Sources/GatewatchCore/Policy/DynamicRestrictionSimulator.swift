/// Predicts IIS `dynamicIpSecurity` denials from request timings (spec §1.8, D13).
///
/// Approximate by nature: true concurrency is not in the log. Feed requests in order of start
/// time (`time − time-taken`); each call returns the decision after the dynamic layer. A static
/// denial takes precedence, and a request allowed by an explicit `ipSecurity` entry is exempt
/// (``exemptsExplicitAllow``). Memory grows with the number of distinct keys and the requests
/// inside one window.
public struct DynamicRestrictionSimulator: Sendable {
    /// The settings simulated.
    public var settings: IISDynamicSettings
    /// Whether a request allowed by an explicit `ipSecurity` entry skips dynamic checks (default on).
    public var exemptsExplicitAllow: Bool
    private var starts: [IPAddress: [Int64]] = [:]
    private var intervals: [IPAddress: [(start: Int64, end: Int64)]] = [:]

    /// Creates a simulator.
    ///
    /// - Parameters:
    ///   - settings: The effective dynamic settings.
    ///   - exemptsExplicitAllow: Whether explicit static allows are exempt.
    public init(settings: IISDynamicSettings, exemptsExplicitAllow: Bool = true) {
        self.settings = settings
        self.exemptsExplicitAllow = exemptsExplicitAllow
    }

    /// Records one request and returns its decision after the dynamic layer.
    ///
    /// - Parameters:
    ///   - key: The client key (c-ip, or the leftmost X-Forwarded-For address in proxy mode, D8b).
    ///   - startMilliseconds: When the request started.
    ///   - endMilliseconds: When it completed (the W3C `time`).
    ///   - staticDecision: The decision of the earlier layers.
    ///   - loggedStatus: The status the server logged, used for logging-only mode (`200.502`).
    /// - Returns: The final decision.
    public mutating func observe(
        key: IPAddress,
        startMilliseconds: Int64,
        endMilliseconds: Int64,
        staticDecision: PolicyDecision,
        loggedStatus: Int = 200
    ) -> PolicyDecision {
        guard staticDecision.verdict == .allow, settings.isEnabled else { return staticDecision }
        if exemptsExplicitAllow, staticDecision.layer == .iisStatic, staticDecision.rule != "allowUnlisted" {
            return staticDecision
        }
        var substatus: Int?
        var rule = ""
        if settings.denyByRequestRate {
            var window = starts[key, default: []]
            window.append(startMilliseconds)
            let from = startMilliseconds - Int64(settings.requestIntervalMilliseconds)
            window.removeAll { $0 <= from }
            starts[key] = window
            if window.count > Int(settings.maxRequests) {
                substatus = 502
                rule = "dynamic-rate"
            }
        }
        if settings.denyByConcurrentRequests {
            var open = intervals[key, default: []]
            open.removeAll { $0.end <= startMilliseconds }
            open.append((startMilliseconds, endMilliseconds))
            intervals[key] = open
            if substatus == nil, open.count > Int(settings.maxConcurrentRequests) {
                substatus = 501
                rule = "dynamic-concurrency"
            }
        }
        guard let substatus else { return staticDecision }
        if settings.enableLoggingOnlyMode {
            return PolicyDecision(
                verdict: .allow,
                rule: rule + " (logging only)",
                layer: .iisDynamic,
                status: loggedStatus,
                substatus: substatus
            )
        }
        if settings.denyAction == .abortRequest {
            return PolicyDecision(verdict: .abort, rule: rule, layer: .iisDynamic)
        }
        return PolicyDecision(
            verdict: .deny,
            rule: rule,
            layer: .iisDynamic,
            status: settings.denyAction.rawValue,
            substatus: substatus
        )
    }
}
