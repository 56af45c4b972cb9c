/// The verdict, outcome and deciding rule of one judgement key under one policy.
struct Judgement: Sendable {
    var verdict: Verdict
    var outcome: Outcome
    /// `layer: rule`, or empty when no policy decision was needed (gateway, unjudged).
    var rule: String
    /// What the policy decided (`allow`, `deny`, …; `allow` for gateway traffic); not stored.
    var decision = PolicyVerdict.allow
    /// The `status.substatus` a denial logs; not stored.
    var status: String?

    /// Whether two judgements differ in what the store keeps (verdict, outcome, rule).
    func differs(from other: Judgement) -> Bool {
        verdict != other.verdict || outcome != other.outcome || rule != other.rule
    }
}
