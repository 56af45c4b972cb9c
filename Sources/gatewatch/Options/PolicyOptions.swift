import ArgumentParser
import Foundation
import GatewatchCore

extension Gatewatch {
    /// The policy inputs shared by `check`, `lint`, `config`, `ingest`, `watch`, `whatif` and `report`: flags override `gatewatch.yaml`,
    /// which overrides the defaults.
    struct PolicyOptions: ParsableArguments {
        @OptionGroup var config: ConfigOptions

        @Option(
            name: .customLong("policy"),
            help:
                "A policy file: web.config, applicationHost.config, App Service JSON or an address list. Repeat, parent first."
        )
        var policyFiles: [String] = []

        @Option(name: .customLong("service-tags"), help: "A ServiceTags_*.json file for App Service ServiceTag rules.")
        var serviceTags: String?

        @Option(name: .customLong("gateway"), help: "A gateway address or CIDR block. Repeatable.")
        var gateways: [String] = []

        @Option(
            name: .customLong("iis-version"),
            parsing: .unconditional,
            help:
                "The IIS major version whose status codes to predict (6 and 7 log 403.6; 8 and 10 log 403.503; default 10)."
        )
        var iisVersion: Int?

        @Flag(name: .customLong("appservice"), help: "The site runs on Azure App Service (ipSecurity is never locked).")
        var isAppService = false

        @Flag(
            name: .customLong("force-gateway"),
            help: "Take gateway blocks with host bits set (20.50.10.4/28) or /0 as written instead of refusing them."
        )
        var forcesGateways = false

        @Flag(
            name: .customLong("accept-config-errors"),
            help:
                "Load a policy with unknown elements, attributes or keys as IIS would (500.19 for every request the file governs; unknown App Service keys ignored) instead of refusing it."
        )
        var acceptsConfigurationErrors = false

        func validate() throws {
            for gateway in gateways {
                guard let block = CIDR(gateway) else {
                    throw ValidationError(
                        "'\(gateway)' is not an IP address or CIDR block; pass e.g. --gateway 20.50.10.0/28"
                    )
                }
                if !forcesGateways, let problem = GatewatchConfiguration.gatewayProblem(block) {
                    throw ValidationError("--gateway '\(gateway)': use \(problem), or pass --force-gateway")
                }
            }
            if let iisVersion, ![6, 7, 8, 10].contains(iisVersion) {
                throw ValidationError("'\(iisVersion)' is not a supported IIS version; pass 6, 7, 8 or 10")
            }
        }

        /// The effective configuration: flags over the file over the defaults.
        func configuration() throws(ConfigurationError) -> GatewatchConfiguration {
            let base = try config.load() ?? GatewatchConfiguration()
            var result = base.overriding(
                policyFiles: policyFiles,
                serviceTags: serviceTags,
                gateways: gateways.compactMap { CIDR($0) },
                iisVersion: iisVersion,
                isAppService: isAppService ? true : nil
            )
            result.forcesGateways = forcesGateways
            result.acceptsConfigurationErrors = acceptsConfigurationErrors
            try result.checkGateways()
            return result
        }
    }
}
