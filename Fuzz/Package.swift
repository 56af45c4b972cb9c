// swift-tools-version: 6.2
// libFuzzer targets for GatewatchCore's parsers. Not part of the root package: build and run with
// `Fuzz/run.sh` (it passes `-sanitize=fuzzer,address -parse-as-library`). Each target is one file
// exporting `LLVMFuzzerTestOneInput`; libFuzzer provides `main`.
import PackageDescription

let targets = ["FuzzW3C", "FuzzAddress", "FuzzPolicy", "FuzzGateway"]

let package = Package(
    name: "GatewatchFuzz",
    platforms: [.macOS(.v15)],
    products: targets.map { .executable(name: $0, targets: [$0]) },
    dependencies: [
        .package(name: "gatewatch", path: "..")
    ],
    targets: targets.map { name in
        .executableTarget(
            name: name,
            dependencies: [.product(name: "GatewatchCore", package: "gatewatch")],
            swiftSettings: [
                .enableUpcomingFeature("ExistentialAny"),
                .enableUpcomingFeature("MemberImportVisibility"),
                .enableExperimentalFeature("Extern"),  // @_extern(c) for LLVMFuzzerRunDriver
                .unsafeFlags(["-parse-as-library"]),
            ]
        )
    },
    swiftLanguageModes: [.v6]
)
