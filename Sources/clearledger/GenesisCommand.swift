import ArgumentParser
import Cryptography
import Foundation
import Ledger

/// Writes the consortium's genesis file from flags; validates it the same way a
/// member validates it on load.
struct GenesisCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genesis",
        abstract: "Write a genesis file (members, f, admin and exchange keys, checkpoint interval, initial accounts and securities)."
    )

    @Option(help: "Output file (JSON).")
    var out: String

    @Option(help: "Chain identifier.")
    var chainID = "clearledger"

    @Option(help: "Clearing member: ID,NAME,ADDRESS,PUBLIC_KEY_PEM_FILE (repeat for each member).")
    var member: [String] = []

    @Option(help: "Faulty members tolerated; needs at least 3f+1 members.")
    var f = 0

    @Option(help: "Admin public key PEM file (repeatable).")
    var adminKey: [String] = []

    @Option(help: "Exchange public key PEM file (signs settlement batches).")
    var exchangeKey: String

    @Option(help: "Blocks between checkpoints and state snapshots.")
    var checkpointInterval: UInt64 = 100

    @Option(help: "Initial account: ID,NAME,MEMBER[,eligible][,frozen] (repeatable).")
    var account: [String] = []

    @Option(help: "Initial security: ID,SYMBOL,NAME,ISSUER,AUTHORIZED[,RESTRICTION] with RESTRICTION none, eligible-only or lock-up:<µs> (repeatable).")
    var security: [String] = []

    @Option(help: "log2 of the state tree's bucket count: 8, 12, 16 or 20 (about 16 balances per bucket is right).")
    var stateTreeBucketBits = StateTree.defaultBucketBits

    @Flag(help: "Overwrite an existing output file.")
    var force = false

    func run() throws {
        try runReportingErrors {
            if !force && FileManager.default.fileExists(atPath: out) {
                throw CommandError("--out=\(out): file exists (use --force to overwrite)")
            }
            let members = try member.map { text -> Genesis.Member in
                let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                guard parts.count == 4, let id = UInt32(parts[0]) else {
                    throw CommandError("--member=\(text): expected ID,NAME,ADDRESS,PUBLIC_KEY_PEM_FILE")
                }
                return Genesis.Member(id: id, name: parts[1], address: parts[2], publicKey: try loadPublicKey(parts[3], field: "--member"))
            }
            let admins = try adminKey.map { try loadPublicKey($0, field: "--admin-key") }
            let accounts = try account.map { text -> Account in
                let parts = text.split(separator: ",").map(String.init)
                guard parts.count >= 3, let id = UInt32(parts[0]), let memberID = UInt32(parts[2]),
                      parts.dropFirst(3).allSatisfy({ $0 == "eligible" || $0 == "frozen" }) else {
                    throw CommandError("--account=\(text): expected ID,NAME,MEMBER[,eligible][,frozen]")
                }
                return Account(id: id, name: parts[1], member: memberID, eligible: parts.contains("eligible"), frozen: parts.contains("frozen"))
            }
            let securities = try security.map { text -> Security in
                let parts = text.split(separator: ",").map(String.init)
                guard parts.count == 5 || parts.count == 6, let id = UInt32(parts[0]), let issuer = UInt32(parts[3]),
                      let authorized = Int64(parts[4]) else {
                    throw CommandError("--security=\(text): expected ID,SYMBOL,NAME,ISSUER,AUTHORIZED[,RESTRICTION]")
                }
                return Security(id: id, symbol: parts[1], name: parts[2], issuer: issuer, authorized: authorized,
                                restriction: try GenesisFile.parseRestriction(parts.count == 6 ? parts[5] : nil, field: "--security"))
            }
            let genesis = Genesis(chainID: chainID, members: members, f: f, adminKeys: admins,
                                  exchangeKey: try loadPublicKey(exchangeKey, field: "--exchange-key"),
                                  checkpointInterval: checkpointInterval, accounts: accounts, securities: securities,
                                  stateTreeBucketBits: stateTreeBucketBits)
            do { try genesis.validate() } catch { throw CommandError("genesis \(error)") }
            try GenesisFile(genesis).write(out)
            print("wrote \(out): \(members.count) members, f=\(f), \(admins.count) admin keys, genesis hash \(genesis.hash.hex)")
        }
    }
}
