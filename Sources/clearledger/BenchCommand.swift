import ArgumentParser

/// `clearledger bench <component>`: each benchmark prints its parameters and seed,
/// and with `--json` ends with one JSON line (see DESIGN.md, command-line conventions).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (build with -c release).",
        subcommands: [BenchLedgerCommand.self]
    )
}
