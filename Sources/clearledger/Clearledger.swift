import ArgumentParser

@main
struct Clearledger: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clearledger",
        abstract: "Private-securities exchange with on-ledger clearing."
    )
}
