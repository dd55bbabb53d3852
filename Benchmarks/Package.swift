// swift-tools-version: 6.1
import PackageDescription

// Micro-benchmarks for Clearledger on ordo-one/benchmark, kept in their own
// package (as swift-nio does) so that the main package's `swift build` and
// `swift test` never resolve or compile the benchmark dependency.
//
// Run from this folder: `swift package benchmark` (see README.md).
let package = Package(
    name: "ClearledgerBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Clearledger", path: ".."),
        // The MallocInterposer trait gives the malloc counters on Swift 6.3. Naming
        // the traits replaces the package's defaults, so RuntimeInterposer (the
        // Linux 6.3 ARC-counter workaround) is off: the ARC metrics are not used.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "MatchingBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Matching", package: "Clearledger"),
                .product(name: "Cryptography", package: "Clearledger"),
            ],
            path: "Benchmarks/MatchingBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
        .executableTarget(
            name: "LedgerBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Ledger", package: "Clearledger"),
                .product(name: "Cryptography", package: "Clearledger"),
            ],
            path: "Benchmarks/LedgerBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ]
)
