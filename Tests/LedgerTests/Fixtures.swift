import Cryptography
@testable import Ledger

/// Deterministic generator so every random test can print and replay its seed.
struct SplitMix64: RandomNumberGenerator {
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

enum Keys {
    static func key(_ byte: UInt8) -> Ed25519PrivateKey {
        // Fixed seeds: valid by construction.
        try! Ed25519PrivateKey(seed: [UInt8](repeating: byte, count: 32))
    }

    static let admin = key(1)
    static let exchange = key(2)
    static let stranger = key(3)
    static let member = key(4)
}

func makeGenesis(checkpointInterval: UInt64 = 4, accounts: [Account] = [], securities: [Security] = []) -> Genesis {
    Genesis(chainID: "test", members: [.init(id: 1, name: "m1", address: "127.0.0.1:7001", publicKey: Keys.member.publicKey)],
            f: 0, adminKeys: [Keys.admin.publicKey], exchangeKey: Keys.exchange.publicKey,
            checkpointInterval: checkpointInterval, accounts: accounts, securities: securities)
}

/// A ledger state plus signers that track their nonces.
struct Harness {
    var state: LedgerState
    var adminNonce: UInt64 = 0
    var exchangeNonce: UInt64 = 0
    var timestamp: Timestamp = 1_000_000

    init() {
        state = LedgerState(authority: makeGenesis().authority)
    }

    func signedAdmin(_ body: TransactionBody, nonce: UInt64) -> SignedTransaction {
        try! SignedTransaction(body: body, nonce: nonce, key: Keys.admin)
    }

    @discardableResult
    mutating func admin(_ body: TransactionBody) -> TransactionStatus {
        adminNonce += 1
        return state.apply(signedAdmin(body, nonce: adminNonce), timestamp: timestamp)
    }

    @discardableResult
    mutating func settle(_ trades: [Trade]) -> TransactionStatus {
        exchangeNonce += 1
        let tx = try! SignedTransaction(body: .settle(batchID: exchangeNonce, trades: trades), nonce: exchangeNonce, key: Keys.exchange)
        return state.apply(tx, timestamp: timestamp)
    }

    /// Two accounts (1 issuer, 2, 3 investors), security 7 "ACME" with 1,000,000
    /// authorized, 10,000 issued to account 2, 1,000,000 cash on account 3.
    static func standard() -> Harness {
        var h = Harness()
        h.admin(.createAccount(Account(id: 1, name: "Issuer", member: 1)))
        h.admin(.createAccount(Account(id: 2, name: "Alice", member: 1, eligible: true)))
        h.admin(.createAccount(Account(id: 3, name: "Bob", member: 1, eligible: true)))
        h.admin(.createSecurity(Security(id: 7, symbol: "ACME", name: "Acme Inc", issuer: 1, authorized: 1_000_000)))
        h.admin(.issue(security: 7, to: 2, shares: 10_000))
        h.admin(.deposit(account: 3, amount: 1_000_000))
        return h
    }
}

extension TransactionStatus {
    var failureReason: FailureReason? {
        if case let .rejected(failure) = self { return failure.reason }
        return nil
    }

    var tradeFailures: [FailureReason] {
        if case let .settled(_, failed) = self { return failed.map(\.failure.reason) }
        return []
    }
}
