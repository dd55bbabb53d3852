import ArgumentParser
import Cryptography
import Foundation
import Ledger

struct LedgerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Create, inspect and verify a local ledger directory.",
        subcommands: [LedgerInitCommand.self, LedgerShowCommand.self, LedgerVerifyCommand.self, LedgerProofCommand.self,
                      VerifyProofCommand.self, AppendForeverCommand.self]
    )
}

struct LedgerInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create a ledger directory from a genesis file.")

    @Option(help: "Genesis file (JSON).")
    var genesis: String

    @Option(help: "Ledger directory to create.")
    var ledger: String

    func run() throws {
        try runReportingErrors {
            let loaded = try GenesisFile.load(genesis)
            let target = LedgerDirectory.genesisPath(ledger)
            if FileManager.default.fileExists(atPath: target) {
                throw CommandError("--ledger=\(ledger): already a ledger directory")
            }
            try FileManager.default.createDirectory(atPath: ledger, withIntermediateDirectories: true)
            try GenesisFile(loaded).write(target)
            let node = try LedgerDirectory.open(ledger)
            print("initialized \(ledger): chain \(loaded.chainID), genesis hash \(loaded.hash.hex), state root \(node.chain.stateRoot.hex)")
        }
    }
}

struct LedgerShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print holdings, securities, accounts or blocks as a table.")

    enum What: String, ExpressibleByArgument, CaseIterable {
        case holdings, securities, accounts, blocks, movements
    }

    @Argument(help: "holdings | securities | accounts | blocks | movements")
    var what: What

    @Option(help: "Ledger directory.")
    var ledger: String

    func run() throws {
        try runReportingErrors {
            let node = try LedgerDirectory.open(ledger)
            let state = node.chain.state
            switch what {
            case .holdings:
                let rows = state.balances().filter { $0.asset != 0 }.map { b -> [String] in
                    [String(b.account), state.accounts[b.account]?.name ?? "?", state.securities[b.asset]?.symbol ?? String(b.asset), String(b.value)]
                }
                print(Table.render(["ACCOUNT", "NAME", "SECURITY", "SHARES"], rows, numeric: [0, 3]))
            case .securities:
                let rows = state.securities.keys.sorted().compactMap { state.securities[$0] }.map { s -> [String] in
                    [String(s.id), s.symbol, s.name, String(s.issuer), s.shareClass, String(s.authorized), String(s.issued),
                     String(s.cashPerTick), String(s.lotSize), GenesisFile.restrictionText(s.restriction), s.halted ? "halted" : "trading"]
                }
                print(Table.render(["ID", "SYMBOL", "NAME", "ISSUER", "CLASS", "AUTHORIZED", "ISSUED", "CASH/TICK", "LOT", "RESTRICTION", "STATUS"],
                                   rows, numeric: [0, 3, 5, 6, 7, 8]))
            case .accounts:
                let rows = state.accounts.keys.sorted().compactMap { state.accounts[$0] }.map { a -> [String] in
                    [String(a.id), a.name, String(a.member), a.eligible ? "yes" : "no", a.frozen ? "yes" : "no", String(state.cash(a.id))]
                }
                print(Table.render(["ID", "NAME", "MEMBER", "ELIGIBLE", "FROZEN", "CASH"], rows, numeric: [0, 2, 5]))
            case .blocks:
                var rows: [[String]] = []
                if node.height > 0 {
                    for height in 1...node.height {
                        let stored = try node.read(height: height)
                        let results = zip(stored.block.transactions, stored.receipt.statuses).map { tx, status -> String in
                            switch status {
                            case .applied: return "\(tx.body.kindName) ok"
                            case let .rejected(failure): return "\(tx.body.kindName) rejected (\(failure))"
                            case let .settled(count, failed): return "settle \(count)/\(count + failed.count)"
                            }
                        }.joined(separator: "; ")
                        rows.append([String(height), String(stored.block.header.timestamp), String(stored.block.transactions.count),
                                     String(stored.block.hash.hex.prefix(16)), String(stored.receipt.stateRoot.hex.prefix(16)), results])
                    }
                }
                print(Table.render(["HEIGHT", "TIMESTAMP_US", "TXS", "HASH", "STATE_ROOT", "RESULT"], rows, numeric: [0, 1, 2]))
            case .movements:
                // Replays from genesis with recording on: the journal is derived, not stored twice.
                var chain = try LedgerChain(genesis: node.genesis)
                var rows: [[String]] = []
                if node.height > 0 {
                    for height in 1...node.height {
                        let (_, perTransaction) = try chain.executeRecordingMovements(try node.read(height: height).block)
                        for (index, movements) in perTransaction.enumerated() {
                            for m in movements {
                                rows.append([String(height), String(index), m.kind.description, String(m.account),
                                             state.accounts[m.account]?.name ?? "?",
                                             m.asset == 0 ? "cash" : (state.securities[m.asset]?.symbol ?? String(m.asset)),
                                             m.delta > 0 ? "+\(m.delta)" : String(m.delta), m.tradeID == 0 ? "" : String(m.tradeID)])
                            }
                        }
                    }
                }
                print(Table.render(["HEIGHT", "TX", "KIND", "ACCOUNT", "NAME", "ASSET", "CHANGE", "TRADE"], rows, numeric: [0, 1, 3, 6, 7]))
            }
        }
    }
}

/// Opens the directory twice — from the newest snapshot and by full replay from
/// genesis — and checks both reach the same head and state root.
struct LedgerVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every block (CRC, hash chain, replay) and that snapshot + replay equals full replay."
    )

    @Option(help: "Ledger directory.")
    var ledger: String

    func run() throws {
        try runReportingErrors {
            let genesis = try GenesisFile.load(LedgerDirectory.genesisPath(ledger))
            // One open at a time: each holds the directory's lock.
            func open(useSnapshots: Bool) throws -> (root: SHA256Digest, head: SHA256Digest, height: UInt64, from: UInt64, replayed: Int, truncated: Int) {
                do {
                    let node = try LedgerNode(directory: ledger, genesis: genesis, useSnapshots: useSnapshots)
                    return (node.chain.stateRoot, node.chain.headHash, node.height, node.restoredFromHeight, node.replayedBlocks, node.truncatedBytes)
                } catch { throw CommandError("--ledger=\(ledger): \(error)") }
            }
            let fast = try open(useSnapshots: true)
            let full = try open(useSnapshots: false)
            guard fast.root == full.root, fast.head == full.head else {
                throw CommandError("--ledger=\(ledger): snapshot \(fast.from) + replay gives root \(fast.root.hex), full replay gives \(full.root.hex)")
            }
            print("verified height=\(full.height) head=\(full.head.hex) stateRoot=\(full.root.hex) snapshot=\(fast.from) replayed=\(fast.replayed) truncated=\(fast.truncated)")
        }
    }
}

/// Test-only: appends blocks of random trades forever, printing `durable H` after
/// each block's fsync, so a test can SIGKILL it at any instant and then check the
/// store. Resumes an existing directory.
struct AppendForeverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "_append-forever", abstract: "Test only.", shouldDisplay: false)

    @Option(help: "Directory.")
    var data: String

    @Option(help: "Seed for the trades.")
    var seed: UInt64 = 1

    @Option(help: "Trades per block.")
    var trades = 200

    @Option(help: "Stop after this many blocks (0: never).")
    var blocks = 0

    @Option(help: "Write each record in pieces of this many bytes with a pause between, so a kill can tear a record (0: one write).")
    var tornWriteChunk = 0

    @Option(help: "Pause between pieces, microseconds.")
    var tornWritePause: UInt32 = 200

    static let admin = try? Ed25519PrivateKey(seed: [UInt8](repeating: 0xA1, count: 32))
    static let exchange = try? Ed25519PrivateKey(seed: [UInt8](repeating: 0xE1, count: 32))
    static let accounts: UInt32 = 20

    func run() throws {
        try runReportingErrors {
            guard let admin = Self.admin, let exchange = Self.exchange else { throw CommandError("test keys unavailable") }
            let genesisPath = LedgerDirectory.genesisPath(data)
            if !FileManager.default.fileExists(atPath: genesisPath) {
                try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
                let genesis = Genesis(
                    chainID: "kill-test", members: [.init(id: 1, name: "m1", address: "local", publicKey: admin.publicKey)], f: 0,
                    adminKeys: [admin.publicKey], exchangeKey: exchange.publicKey, checkpointInterval: 7,
                    accounts: (1...Self.accounts).map { Account(id: $0, name: "acct\($0)", member: 1) },
                    securities: [Security(id: 1, symbol: "KILL", name: "Kill Test", issuer: 1, authorized: 1 << 40)])
                try GenesisFile(genesis).write(genesisPath)
            }
            let node = try LedgerDirectory.open(data)
            if tornWriteChunk > 0 { node.simulateTornWrites(chunkBytes: tornWriteChunk, pauseMicroseconds: tornWritePause) }
            var rng = AppendRandom(seed: seed ^ node.height)
            var written = 0
            while blocks == 0 || written < blocks {
                let height = node.height + 1
                var adminNonce = node.chain.state.nonce(of: admin.publicKey.rawRepresentation)
                var exchangeNonce = node.chain.state.nonce(of: exchange.publicKey.rawRepresentation)
                var txs: [SignedTransaction] = []
                if height == 1 {
                    for id in 1...Self.accounts {
                        adminNonce += 1
                        txs.append(try SignedTransaction(body: .deposit(account: id, amount: 1 << 40), nonce: adminNonce, key: admin))
                        adminNonce += 1
                        txs.append(try SignedTransaction(body: .issue(security: 1, to: id, shares: 1 << 30), nonce: adminNonce, key: admin))
                    }
                }
                let batch = (0..<trades).map { i in
                    Trade(tradeID: height * 1_000_000 + UInt64(i), buyer: UInt32.random(in: 1...Self.accounts, using: &rng),
                          seller: UInt32.random(in: 1...Self.accounts, using: &rng), security: 1,
                          shares: Int64.random(in: 1...100, using: &rng), price: Int64.random(in: 1...1_000, using: &rng))
                }
                exchangeNonce += 1
                txs.append(try SignedTransaction(body: .settle(batchID: height, trades: batch), nonce: exchangeNonce, key: exchange))
                let block = node.chain.makeBlock(timestamp: Timestamp(height) * 1_000, transactions: txs)
                try node.commit(block)
                // Unbuffered: the test reads this line as "block H is on disk".
                FileHandle.standardOutput.write(Data("durable \(node.height)\n".utf8))
                written += 1
            }
        }
    }
}

/// SplitMix64: seeded, so a failing run can be repeated.
struct AppendRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
