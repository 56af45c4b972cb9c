// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "gatewatch",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gatewatch", targets: ["gatewatch"]),
        .library(name: "GatewatchCore", targets: ["GatewatchCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // ISA-L's types only: libisal.so.2 is loaded at run time when it is installed (Input/ISAL.swift).
        .systemLibrary(name: "CISAL"),
        .systemLibrary(name: "CMalloc"),
        // The W3C tokenizer's SSE2 split (a header only).
        .systemLibrary(name: "CByteScan"),
        .systemLibrary(
            name: "CSQLiteSetup",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(
            name: "GatewatchCore",
            dependencies: [
                "CZlib",
                "CByteScan",
                "CISAL",
                "CMalloc",
                "CSQLiteSetup",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "gatewatch",
            dependencies: [
                "GatewatchCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "gatewatch-bench",
            dependencies: ["GatewatchCore"],
            path: "Benchmarks/GatewatchBench"
        ),
        .testTarget(
            name: "GatewatchCoreTests",
            dependencies: ["GatewatchCore"]
        ),
        .testTarget(
            name: "GatewatchCLITests",
            dependencies: [
                "gatewatch",
                "GatewatchCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

for target in package.targets where target.type != .system {
    target.swiftSettings =
        (target.swiftSettings ?? []) + [
            .enableUpcomingFeature("ExistentialAny"),
            .enableUpcomingFeature("MemberImportVisibility"),
        ]
}

// The per-line path works on class-owned state; dynamic exclusivity checks cost several percent
// of ingest time there (measured with perf). Static checks still apply.
if let core = package.targets.first(where: { $0.name == "GatewatchCore" }) {
    core.swiftSettings =
        (core.swiftSettings ?? []) + [
            .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
        ]
}
