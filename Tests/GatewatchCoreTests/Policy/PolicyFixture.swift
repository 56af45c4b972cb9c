/// The path of a file in `Tests/Fixtures/policy`, found from this source file's location.
func policyFixture(_ name: String, file: String = #filePath) -> String {
    var parts = file.split(separator: "/", omittingEmptySubsequences: false)
    // .../Tests/GatewatchCoreTests/Policy/PolicyFixture.swift → .../Tests
    parts.removeLast(3)
    return parts.joined(separator: "/") + "/Fixtures/policy/" + name
}
