import ArgumentParser
import Cryptography
import Foundation
import Ledger

struct AdminCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Build, sign and apply an admin transaction to a local single-member ledger (one block per command).",
        subcommands: [
            CreateAccountCommand.self, UpdateAccountCommand.self, CreateSecurityCommand.self, IssueCommand.self, RedeemCommand.self,
            DepositCommand.self, WithdrawCommand.self, TransferCommand.self, SplitCommand.self, HaltCommand.self, ResumeCommand.self,
        ]
    )
}

struct AdminOptions: ParsableArguments {
    @Option(help: "Admin private key PEM file (its public key must be in genesis adminKeys).")
    var key: String

    @Option(help: "Ledger directory (see `clearledger ledger init`).")
    var ledger: String

    /// Signs `body` with the next nonce, executes it on a copy first, and appends
    /// the block only if the transaction applied — a rejected command leaves the
    /// ledger directory byte-for-byte unchanged. Same `LedgerChain.execute` path
    /// as the consortium.
    func submit(_ build: (LedgerState) throws -> TransactionBody) throws {
        try runReportingErrors {
            let signer = try loadPrivateKey(key)
            let node = try LedgerDirectory.open(ledger)
            let body = try build(node.chain.state)
            let nonce = node.chain.state.nonce(of: signer.publicKey.rawRepresentation) + 1
            let tx = try SignedTransaction(body: body, nonce: nonce, key: signer)
            let block = node.chain.makeBlock(timestamp: nowMicroseconds(), transactions: [tx])
            var trial = node.chain
            let receipt = try trial.execute(block)
            if case let .rejected(failure) = receipt.statuses.first {
                let field = failure.field == "signer" ? "--key" : failure.field
                let value = failure.field == "signer" ? "\(key) (\(failure.value))" : failure.value
                throw CommandError("\(body.kindName): \(field)=\(value): \(failure.reason)")
            }
            let committed = try node.commit(block)
            print("block \(committed.height): \(body.kindName) applied, state root \(committed.stateRoot.hex)")
        }
    }
}

/// Accepts a numeric id or a symbol.
func resolveSecurity(_ text: String, in state: LedgerState) throws -> SecurityID {
    if let id = SecurityID(text) { return id }
    if let match = state.securities.values.first(where: { $0.symbol == text }) { return match.id }
    throw CommandError("--security=\(text): unknown security")
}

struct CreateAccountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create-account", abstract: "Open an account.")
    @OptionGroup var options: AdminOptions
    @Option(help: "Account id (1…4294967295).") var id: UInt32
    @Option(help: "Display name.") var name: String
    @Option(help: "Clearing member id.") var member: UInt32 = 1
    @Flag(help: "May hold securities restricted to eligible holders.") var eligible = false
    @Flag(help: "Create frozen.") var frozen = false

    func run() throws {
        try options.submit { _ in .createAccount(Account(id: id, name: name, member: member, eligible: eligible, frozen: frozen)) }
    }
}

struct UpdateAccountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "update-account", abstract: "Set an account's eligible and frozen flags.")
    @OptionGroup var options: AdminOptions
    @Option(help: "Account id.") var id: UInt32
    @Option(help: "true or false.") var eligible: Bool
    @Option(help: "true or false.") var frozen: Bool

    func run() throws {
        try options.submit { _ in .updateAccount(id: id, eligible: eligible, frozen: frozen) }
    }
}

struct CreateSecurityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create-security", abstract: "Register a security.")
    @OptionGroup var options: AdminOptions
    @Option(help: "Security id (1…).") var id: UInt32
    @Option(help: "Symbol: A-Z, 0-9, '.', '-', at most 16.") var symbol: String
    @Option(help: "Name.") var name: String
    @Option(help: "Issuer account id.") var issuer: UInt32
    @Option(help: "Authorized shares.") var authorized: Int64
    @Option(help: "Share class.") var shareClass = "common"
    @Option(help: "Cash minor units per price tick.") var cashPerTick: Int64 = 1
    @Option(help: "Lot size in shares.") var lotSize: Int64 = 1
    @Option(help: "none, eligible-only or lock-up:<microseconds since epoch>.") var restriction = "none"

    func run() throws {
        try options.submit { _ in
            .createSecurity(Security(id: id, symbol: symbol, name: name, issuer: issuer, shareClass: shareClass, authorized: authorized,
                                     cashPerTick: cashPerTick, lotSize: lotSize,
                                     restriction: try GenesisFile.parseRestriction(restriction, field: "--restriction")))
        }
    }
}

struct IssueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "issue", abstract: "Issue new shares to an account (up to authorized).")
    @OptionGroup var options: AdminOptions
    @Option(help: "Security id or symbol.") var security: String
    @Option(help: "Receiving account id.") var to: UInt32
    @Option(help: "Shares.") var shares: Int64

    func run() throws {
        try options.submit { state in .issue(security: try resolveSecurity(security, in: state), to: to, shares: shares) }
    }
}

struct RedeemCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "redeem", abstract: "Redeem (cancel) shares held by an account.")
    @OptionGroup var options: AdminOptions
    @Option(help: "Security id or symbol.") var security: String
    @Option(help: "Holding account id.") var from: UInt32
    @Option(help: "Shares.") var shares: Int64

    func run() throws {
        try options.submit { state in .redeem(security: try resolveSecurity(security, in: state), from: from, shares: shares) }
    }
}

struct DepositCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "deposit", abstract: "Credit cash (minor units) to an account.")
    @OptionGroup var options: AdminOptions
    @Option(help: "Account id.") var account: UInt32
    @Option(help: "Amount in minor units.") var amount: Int64

    func run() throws { try options.submit { _ in .deposit(account: account, amount: amount) } }
}

struct WithdrawCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "withdraw", abstract: "Debit cash (minor units) from an account.")
    @OptionGroup var options: AdminOptions
    @Option(help: "Account id.") var account: UInt32
    @Option(help: "Amount in minor units.") var amount: Int64

    func run() throws { try options.submit { _ in .withdraw(account: account, amount: amount) } }
}

struct TransferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "transfer", abstract: "Private transfer of shares (restrictions checked).")
    @OptionGroup var options: AdminOptions
    @Option(help: "Security id or symbol.") var security: String
    @Option(help: "Sending account id.") var from: UInt32
    @Option(help: "Receiving account id.") var to: UInt32
    @Option(help: "Shares.") var shares: Int64

    func run() throws {
        try options.submit { state in .transfer(security: try resolveSecurity(security, in: state), from: from, to: to, shares: shares) }
    }
}

struct SplitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "N-for-M stock split: every holding h becomes floor(h × N / M); issued becomes the sum of the new holdings."
    )
    @OptionGroup var options: AdminOptions
    @Option(help: "Security id or symbol.") var security: String
    @Option(help: "N: new shares…") var numerator: Int64
    @Option(help: "…for every M old shares.") var denominator: Int64

    func run() throws {
        try options.submit { state in .split(security: try resolveSecurity(security, in: state), numerator: numerator, denominator: denominator) }
    }
}

struct HaltCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "halt", abstract: "Halt trading and transfers in a security.")
    @OptionGroup var options: AdminOptions
    @Option(help: "Security id or symbol.") var security: String

    func run() throws { try options.submit { state in .halt(security: try resolveSecurity(security, in: state)) } }
}

struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Resume a halted security.")
    @OptionGroup var options: AdminOptions
    @Option(help: "Security id or symbol.") var security: String

    func run() throws { try options.submit { state in .resume(security: try resolveSecurity(security, in: state)) } }
}
