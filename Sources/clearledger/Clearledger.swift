import ArgumentParser

@main
struct Clearledger: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clearledger",
        abstract: "Private-securities exchange with on-ledger clearing.",
        subcommands: [
            KeygenCommand.self,
            GenesisCommand.self,
            AdminCommand.self,
            LedgerCommand.self,
            BenchCommand.self,
        ]
    )
}
