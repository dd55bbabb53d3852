import Cryptography
import Foundation
import Ledger

enum Keys {
    static func key(_ byte: UInt8) -> Ed25519PrivateKey {
        // Fixed seeds: valid by construction.
        try! Ed25519PrivateKey(seed: [UInt8](repeating: byte, count: 32))
    }

    static let admin = key(1)
    static let exchange = key(2)
    static let member = key(4)
}

func makeGenesis(chainID: String = "mirror-test", checkpointInterval: UInt64 = 1000) -> Genesis {
    Genesis(chainID: chainID, members: [.init(id: 1, name: "m1", address: "127.0.0.1:7001", publicKey: Keys.member.publicKey)],
            f: 0, adminKeys: [Keys.admin.publicKey], exchangeKey: Keys.exchange.publicKey,
            checkpointInterval: checkpointInterval, accounts: [], securities: [])
}

/// A ledger directory written through the Ledger API, one block per call, with
/// fixed timestamps so two builders with the same calls write the same chain.
final class LedgerBuilder {
    let directory: String
    let genesis: Genesis
    private(set) var node: LedgerNode?
    private var adminNonce: UInt64 = 0
    private var exchangeNonce: UInt64 = 0
    /// Commit each block with a certificate signed by the one genesis member (f = 0).
    var certify = false
    /// 2026-11-25 10:00:00 UTC, one hour per block.
    private var time: Timestamp = 1_795_600_800_000_000

    init(genesis: Genesis = makeGenesis()) throws {
        directory = NSTemporaryDirectory() + "clearledger-mirror-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.genesis = genesis
        node = try LedgerNode(directory: directory, genesis: genesis)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// Moves the next block's time forward (it also gets the usual hour).
    func skip(hours: Int64) { time += hours * 3_600_000_000 }

    /// Closes the node, as a stopped member would.
    func close() { node = nil }

    @discardableResult
    func admin(_ bodies: [TransactionBody]) throws -> Receipt {
        let txs = try bodies.map { body -> SignedTransaction in
            adminNonce += 1
            return try SignedTransaction(body: body, nonce: adminNonce, key: Keys.admin)
        }
        return try commit(txs)
    }

    @discardableResult
    func settle(_ trades: [Trade]) throws -> Receipt {
        exchangeNonce += 1
        return try commit([try SignedTransaction(body: .settle(batchID: exchangeNonce, trades: trades), nonce: exchangeNonce, key: Keys.exchange)])
    }

    private func commit(_ txs: [SignedTransaction]) throws -> Receipt {
        guard let node else { throw StoreError(path: directory, reason: "closed") }
        time += 3_600_000_000
        let block = node.chain.makeBlock(timestamp: time, transactions: txs)
        var certificate: CommitCertificate?
        if certify {
            let bytes = CommitCertificate.signingBytes(view: block.header.view, sequence: block.header.sequence, blockHash: block.hash)
            certificate = CommitCertificate(view: block.header.view, sequence: block.header.sequence, blockHash: block.hash,
                                            votes: [.init(member: 1, signature: try Keys.member.signature(for: bytes))])
        }
        return try node.commit(block, certificate: certificate)
    }

    /// Accounts 1 Issuer, 2 Alice, 3 "O'Brien" (a quote and SQL in the name),
    /// security 7 ACME (1,000,000 authorized); 10,000 issued to Alice, 1,000,000
    /// cash to Bob; then a batch: 101 Bob buys 100 @ 250, 102 Bob buys 100,000
    /// (Alice lacks the shares: fails), 103 Bob buys 50 @ 260.
    /// Hand-computed: Alice 9,850 ACME and 38,000 cash; Bob 150 ACME and 962,000 cash.
    static func standard(certify: Bool = false, genesis: Genesis = makeGenesis()) throws -> LedgerBuilder {
        let b = try LedgerBuilder(genesis: genesis)
        b.certify = certify
        try b.admin([
            .createAccount(Account(id: 1, name: "Issuer", member: 1)),
            .createAccount(Account(id: 2, name: "Alice", member: 1, eligible: true)),
            .createAccount(Account(id: 3, name: "O'Brien'); DROP TABLE holdings; --\t\\", member: 1, eligible: true)),
            .createSecurity(Security(id: 7, symbol: "ACME", name: "Acme Inc", issuer: 1, authorized: 1_000_000)),
        ])
        try b.admin([.issue(security: 7, to: 2, shares: 10_000), .deposit(account: 3, amount: 1_000_000)])
        try b.settle([
            Trade(tradeID: 101, buyer: 3, seller: 2, security: 7, shares: 100, price: 250, buyOrderID: 11, sellOrderID: 12, matchTime: 5),
            Trade(tradeID: 102, buyer: 3, seller: 2, security: 7, shares: 100_000, price: 1, buyOrderID: 13, sellOrderID: 14, matchTime: 6),
            Trade(tradeID: 103, buyer: 3, seller: 2, security: 7, shares: 50, price: 260, buyOrderID: 15, sellOrderID: 16, matchTime: 7),
        ])
        return b
    }
}
