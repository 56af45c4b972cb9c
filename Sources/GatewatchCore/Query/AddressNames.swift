/// Names for addresses and blocks (`names:` in `gatewatch.yaml`: `20.50.10.4: apim-prod`), so
/// outputs say who a caller is.
///
/// The most specific block wins.
public struct AddressNames: Sendable, Equatable {
    private var entries: [(block: CIDR, name: String)]

    /// No names.
    public static let none = AddressNames([:])

    /// Creates the map; keys that are not addresses or blocks are ignored (the configuration
    /// loader rejects them first).
    ///
    /// - Parameter map: Address or CIDR text → name.
    public init(_ map: [String: String]) {
        entries = map.compactMap { key, name in CIDR(key).map { ($0, name) } }
            .sorted {
                $0.block.prefixLength != $1.block.prefixLength
                    ? $0.block.prefixLength > $1.block.prefixLength : $0.name < $1.name
            }
    }

    /// Whether no name is configured.
    public var isEmpty: Bool { entries.isEmpty }

    /// The name of an address, if a block holds it.
    ///
    /// - Parameter address: Canonical address text (as stored).
    /// - Returns: The name of the most specific block containing it.
    public func name(for address: String) -> String? {
        guard !entries.isEmpty, let parsed = IPAddress(address) else { return nil }
        return entries.first { $0.block.contains(parsed) }?.name
    }

    /// The address with its name in parentheses, for tables.
    func label(_ address: String, name: String?) -> String {
        name.map { "\(address) (\($0))" } ?? address
    }

    public static func == (lhs: AddressNames, rhs: AddressNames) -> Bool {
        lhs.entries.map { "\($0.block)=\($0.name)" } == rhs.entries.map { "\($0.block)=\($0.name)" }
    }
}

extension TopResult {
    /// The same ranking with names attached.
    ///
    /// - Parameter names: The names.
    /// - Returns: The labelled result.
    public func named(_ names: AddressNames) -> TopResult {
        var copy = self
        for index in copy.entries.indices { copy.entries[index].name = names.name(for: copy.entries[index].address) }
        return copy
    }
}

extension ClientsResult {
    /// The same inventory with names attached.
    ///
    /// - Parameter names: The names.
    /// - Returns: The labelled result.
    public func named(_ names: AddressNames) -> ClientsResult {
        var copy = self
        for index in copy.clients.indices { copy.clients[index].name = names.name(for: copy.clients[index].address) }
        return copy
    }
}
