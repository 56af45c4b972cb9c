import GatewatchCore
import Testing

/// Malformed XML says what is wrong, in words, where the parser found it.
@Suite struct XMLErrorTests {
    @Test(
        "well-formedness errors are named with the parser's line and column",
        arguments: [
            (
                "<configuration>\n  <system.webServer>\n",
                "site/web.config:2:21: malformed XML: the file ends before <system.webServer> is closed (premature end"
            ),
            (
                "<configuration>\n  <ipSecurity>\n    <add ipAddress=\"1.2.3.4\">\n  </ipSecurity>\n</configuration>",
                "site/web.config:4:16: malformed XML: the end tag </ipSecurity> does not match the open element <add>"
            ),
            (
                "<configuration>\n  <ipSecurity>\n    <add ipAddress=\"1.2.3.4\"\n  </ipSecurity>\n</configuration>",
                "site/web.config:4:3: malformed XML: a name is expected here: is the tag before it missing its closing '>'"
            ),
            (
                "<configuration>\n  <add ipAddress=\"1.2.3.4 />\n</configuration>",
                "site/web.config:3:1: malformed XML: '<' inside an attribute value: is the closing quote"
            ),
            (
                "<configuration>\n  <add ipAddress=1.2.3.4 />\n</configuration>",
                "site/web.config:2:18: malformed XML: an attribute value is not in quotes"
            ),
            (
                "<configuration>\n  <add>\u{1}</add>\n</configuration>",
                "site/web.config:2:8: malformed XML: a character XML does not allow"
            ),
            (
                "<configuration>\n  <add domainName=\"a&nbsp;b\" />\n</configuration>",
                "site/web.config:2:27: malformed XML: an entity reference names an entity XML does not define"
            ),
            (
                "<configuration>\n  <add domainName=\"a&b\" />\n</configuration>",
                "site/web.config:2:23: malformed XML: an entity reference is not ended with ';'"
            ),
            (
                "<configuration/>\n<configuration/>\n",
                "site/web.config:2:1: malformed XML: there is content after the end of the root element"
            ),
            (
                "<configuration>\n  <add x=\"1\" x=\"2\" />\n</configuration>",
                "site/web.config:2:20: malformed XML: an element has the same attribute twice"
            ),
        ]
    )
    func malformed(xml: String, expected: String) {
        let error = #expect(throws: PolicyError.self) {
            try Policy.compile(documents: [PolicyDocument(path: "site/web.config", text: xml)])
        }
        #expect(error?.description.hasPrefix(expected) == true, "\(String(describing: error))")
        #expect(error?.description.contains("XML parser error") == false)
    }

    @Test("the malformed fixture names the unclosed <add> and the line of the mismatch")
    func fixture() {
        let error = #expect(throws: PolicyError.self) {
            try Policy.load(policyFiles: [policyFixture("malformed.config")], serviceTags: nil, gateways: [])
        }
        let text = error?.description ?? ""
        #expect(text.contains("malformed.config:6:"), "\(text)")
        #expect(text.contains("the end tag </ipSecurity> does not match the open element <add>"), "\(text)")
    }

    @Test("an unknown child element is called an element, in <ipSecurity> and <dynamicIpSecurity>")
    func unknownElement() {
        let error = #expect(throws: PolicyError.self) {
            try Policy.compile(documents: [
                site("<dynamicIpSecurity><denyByRate maxRequests=\"5\"/></dynamicIpSecurity>")
            ])
        }
        #expect(
            error?.description.hasPrefix(
                "site/web.config:5:26: unknown element <denyByRate> inside <dynamicIpSecurity>; IIS would fail with 500.19"
            ) == true,
            "\(String(describing: error))"
        )
        #expect(error?.description.contains("<denyByRequestRate>") == true)
    }
}
