import Testing

@testable import GatewatchCore

/// PostgreSQL URLs appear in messages and JSON without their password.
@Suite("PostgreSQL URLs")
struct PostgresURLTests {
    @Test(
        "passwords are removed from the userinfo and the query",
        arguments: [
            ("postgres://gw:s3cret@db:5432/gatewatch", "postgres://gw@db:5432/gatewatch"),
            ("postgres://gw:p@ss@db/gatewatch", "postgres://gw@db/gatewatch"),
            ("postgresql://db/gatewatch?password=x&sslmode=require", "postgresql://db/gatewatch?sslmode=require"),
            ("postgres://gw@db/gatewatch?PASSWORD=x", "postgres://gw@db/gatewatch"),
            ("postgres://gw@db/gatewatch", "postgres://gw@db/gatewatch"),
            ("postgres://db", "postgres://db"),
        ]
    )
    func redacted(url: String, expected: String) {
        #expect(PostgresConnection.redacted(url) == expected)
    }

    @Test("placeholders are numbered outside quotes and comments")
    func placeholders() {
        #expect(
            PostgresConnection.numberPlaceholders("SELECT '?', \"a?\" FROM t WHERE a = ? AND b = ? -- ?\n")
                == "SELECT '?', \"a?\" FROM t WHERE a = $1 AND b = $2 -- ?\n"
        )
    }
}
