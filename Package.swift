// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Clearledger",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "clearledger", targets: ["clearledger"]),
        .library(name: "Matching", targets: ["Matching"]),
        .library(name: "Cryptography", targets: ["Cryptography"]),
        .library(name: "Ledger", targets: ["Ledger"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // System libraries, found through pkg-config (install pkgconf, libpq-dev, libssl-dev).
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"]), .brew(["libpq"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]
        ),

        .target(name: "Cryptography", dependencies: ["COpenSSL"]),
        .target(name: "Matching"),
        .target(name: "Exchange", dependencies: ["Matching"]),
        .target(name: "FIX"),
        .target(name: "Ledger", dependencies: ["Cryptography"]),
        .target(name: "Mirror", dependencies: ["Ledger", "CLibPQ", "Cryptography"]),
        .target(name: "PBFT", dependencies: ["Cryptography"]),
        .target(
            name: "Network",
            dependencies: [
                "Cryptography",
                "PBFT",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "clearledger",
            dependencies: [
                "Cryptography",
                "Matching",
                "Ledger",
                "Mirror",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .testTarget(name: "CLibPQTests", dependencies: ["CLibPQ"]),
        .testTarget(name: "COpenSSLTests", dependencies: ["COpenSSL"]),
        .testTarget(name: "CryptographyTests", dependencies: ["Cryptography"]),
        .testTarget(name: "MatchingTests", dependencies: ["Matching"]),
        .testTarget(name: "ExchangeTests", dependencies: ["Exchange", "Matching"]),
        .testTarget(name: "FIXTests", dependencies: ["FIX"]),
        .testTarget(name: "LedgerTests", dependencies: ["Ledger", "Cryptography"]),
        .testTarget(name: "MirrorTests", dependencies: ["Mirror", "Ledger", "Cryptography", "CLibPQ"]),
        .testTarget(name: "PBFTTests", dependencies: ["PBFT", "Cryptography"]),
        .testTarget(
            name: "NetworkTests",
            dependencies: [
                "Network", "Cryptography", "PBFT",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "clearledgerTests", dependencies: ["clearledger"]),
    ]
)
