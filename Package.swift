// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "gobot",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gobot", targets: ["gobot"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/swhitty/FlyingFox", exact: "0.27.1"),
    ],
    targets: [
        // Pure logic: values in, values out. Imports nothing of ours and nothing third-party.
        .target(name: "GobotCore"),
        // The version and the git commit, generated before each build (SwiftPM has no build-time variables).
        .plugin(name: "BuildInfoPlugin", capability: .buildTool()),
        .target(name: "GobotBuildInfo", plugins: ["BuildInfoPlugin"]),
        // HMAC-SHA256 and SHA-256 from the system's libcrypto: swift-crypto's BoringSSL was 41 % of a clean build.
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "Digest", dependencies: ["COpenSSL"]),
        .target(
            name: "GobotStore",
            dependencies: [
                "GobotCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API under GRDB, for the candle reads of every analysis (raw column reads).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                "Digest",
            ]
        ),
        // The HTTP seam shared by the Binance client, the vision analyst and Telegram.
        .target(name: "GobotHTTP"),
        .target(
            name: "BinanceFutures",
            dependencies: [
                "GobotCore", "GobotHTTP",
                "Digest",
            ]
        ),
        .systemLibrary(name: "CCairo", pkgConfig: "cairo", providers: [.apt(["libcairo2-dev"])]),
        // libpng at zlib level 1 straight from cairo's pixels: cairo's own encoder spent 14 ms a chart,
        // libpng's simplified writer (fixed at level 3, and an RGB copy first) about 10.
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        // glibc's mallopt (Sources/gobot/MallocTuning.swift): part of libc, nothing to link.
        .systemLibrary(name: "CMalloc"),
        .target(name: "PNGWriter", dependencies: ["CPNG"], linkerSettings: [.linkedLibrary("png16")]),
        .target(name: "Charts", dependencies: ["GobotCore", "CCairo", "PNGWriter"]),
        .target(name: "Analysts", dependencies: ["GobotCore", "GobotHTTP", "Digest"]),
        .target(name: "Notify", dependencies: ["GobotCore", "GobotStore", "GobotHTTP"]),
        .target(name: "PaperExchange", dependencies: ["GobotCore", "GobotStore"]),
        .target(
            name: "GobotSteps",
            dependencies: [
                "GobotCore", "GobotStore", "GobotHTTP", "BinanceFutures", "PaperExchange", "Charts", "Analysts", "Notify", "GobotBuildInfo",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                "Digest",
            ]
        ),
        .executableTarget(
            name: "gobot",
            dependencies: [
                "GobotSteps", "GobotCore", "GobotStore", "Charts", "PaperExchange", "BinanceFutures", "Analysts", "GobotBuildInfo", "CMalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // `dashboard --serve`: a read-only loopback page and /healthz.
                .product(name: "FlyingFox", package: "FlyingFox"),
            ]
        ),
        // Loopback fakes of Binance, OpenAI and Telegram; linked by tests only.
        .target(
            name: "GobotTestSupport",
            dependencies: ["GobotCore", "GobotHTTP", "BinanceFutures", .product(name: "FlyingFox", package: "FlyingFox"), .product(name: "FlyingSocks", package: "FlyingFox"), "Digest"]
        ),
        .testTarget(name: "GobotCoreTests", dependencies: ["GobotCore"]),
        .testTarget(name: "GobotStoreTests", dependencies: ["GobotStore", "GobotCore"]),
        .testTarget(name: "BinanceFuturesTests", dependencies: ["BinanceFutures", "GobotHTTP", "GobotCore", "GobotTestSupport", "Digest"]),
        .testTarget(
            name: "GobotStepsTests",
            dependencies: ["GobotSteps", "GobotStore", "GobotCore", "GobotHTTP", "BinanceFutures", "PaperExchange", "Charts", "Analysts", "Notify",
                           "GobotTestSupport"]
        ),
        .testTarget(name: "GobotCLITests", dependencies: ["GobotSteps", "GobotStore", "GobotCore", "GobotTestSupport", "GobotBuildInfo"]),
    ]
)

for target in package.targets where target.type != .system && target.type != .plugin {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .enableUpcomingFeature("ExistentialAny"),
    ]
}
