import ArgumentParser

/// `clearledger bench ...`: measurements on this machine. Every benchmark prints its
/// parameters and seed, and with `--json` ends with one JSON line.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run a benchmark (use a release build: swift run -c release clearledger bench ...).",
        subcommands: [BenchMatchingCommand.self, BenchLedgerCommand.self, BenchMirrorCommand.self]
    )
}
