/// The id of a user agent's text in `user_agents`, which `evidence_rows.agent_id` names.
///
/// ``StableHash`` (FNV-1a, 64-bit) of the text's bytes with the sign bit cleared: the same on every
/// run, machine and engine, so concurrent ingests agree on it without a lookup. Texts of stores
/// from before schema `v4-facts` have negative ids.
enum AgentID {
    /// The id of `bytes`.
    static func of(_ bytes: UnsafeRawBufferPointer) -> Int64 {
        var hash = StableHash()
        for byte in bytes { hash.add(byte: byte) }
        return Int64(bitPattern: hash.state & 0x7FFF_FFFF_FFFF_FFFF)
    }
}
