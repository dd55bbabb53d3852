import Cryptography
@testable import Ledger
import Testing

@Suite struct StateMachineTests {
    @Test func everyKindApplies() {
        var h = Harness.standard()
        #expect(h.state.holding(2, 7) == 10_000)
        #expect(h.state.cash(3) == 1_000_000)
        #expect(h.admin(.updateAccount(id: 3, eligible: false, frozen: false)) == .applied)
        #expect(h.state.accounts[3]?.eligible == false)
        #expect(h.admin(.redeem(security: 7, from: 2, shares: 1_000)) == .applied)
        #expect(h.state.securities[7]?.issued == 9_000)
        #expect(h.admin(.transfer(security: 7, from: 2, to: 3, shares: 500)) == .applied)
        #expect(h.state.holding(3, 7) == 500 && h.state.holding(2, 7) == 8_500)
        #expect(h.admin(.withdraw(account: 3, amount: 1)) == .applied)
        #expect(h.state.cash(3) == 999_999)
        #expect(h.admin(.halt(security: 7)) == .applied)
        #expect(h.state.securities[7]?.halted == true)
        #expect(h.admin(.resume(security: 7)) == .applied)
        #expect(h.admin(.split(security: 7, numerator: 3, denominator: 2)) == .applied)
        #expect(h.state.holding(2, 7) == 12_750 && h.state.holding(3, 7) == 750)
        #expect(h.state.securities[7]?.issued == 13_500 && h.state.securities[7]?.authorized == 1_500_000)
        let status = h.settle([Trade(tradeID: 1, buyer: 3, seller: 2, security: 7, shares: 100, price: 250)])
        #expect(status == .settled(count: 1, failed: []))
        #expect(h.state.holding(3, 7) == 850 && h.state.holding(2, 7) == 12_650)
        #expect(h.state.cash(3) == 999_999 - 25_000 && h.state.cash(2) == 25_000)
        #expect(h.state.invariantViolations().isEmpty)
    }

    /// A rejected transaction must leave every byte of state as it was.
    func expectRejected(_ h: inout Harness, _ body: TransactionBody, _ reason: FailureReason,
                        sourceLocation: SourceLocation = #_sourceLocation) {
        var before = h.state
        let beforeSnapshot = { var w = ByteWriter(); before.encodeSnapshot(into: &w); return w.bytes }()
        let rootBefore = before.stateRoot()
        let status = h.admin(body)
        #expect(status.failureReason == reason, "\(body.kindName): \(status)", sourceLocation: sourceLocation)
        var after = h.state
        var w = ByteWriter()
        after.encodeSnapshot(into: &w)
        #expect(w.bytes == beforeSnapshot, sourceLocation: sourceLocation)
        #expect(after.stateRoot() == rootBefore, sourceLocation: sourceLocation)
        // The nonce was not consumed either.
        #expect(after.nonce(of: Keys.admin.publicKey.rawRepresentation) == h.adminNonce - 1, sourceLocation: sourceLocation)
        h.adminNonce -= 1
    }

    @Test func adminFailuresChangeNothing() {
        var h = Harness.standard()
        h.admin(.createSecurity(Security(id: 8, symbol: "PRIV", name: "Private", issuer: 1, authorized: 1_000,
                                         restriction: .eligibleHoldersOnly)))
        h.admin(.createSecurity(Security(id: 9, symbol: "LOCK", name: "Locked", issuer: 1, authorized: 1_000,
                                         lotSize: 10, restriction: .lockUp(until: 5_000_000))))
        h.admin(.createAccount(Account(id: 4, name: "Carol", member: 1, eligible: false)))
        h.admin(.createAccount(Account(id: 5, name: "Frozen", member: 1, eligible: true, frozen: true)))
        h.admin(.issue(security: 9, to: 2, shares: 100))

        expectRejected(&h, .createAccount(Account(id: 2, name: "Dup", member: 1)), .accountExists)
        expectRejected(&h, .createAccount(Account(id: 0, name: "Zero", member: 1)), .invalidField)
        expectRejected(&h, .createAccount(Account(id: 10, name: "", member: 1)), .invalidField)
        expectRejected(&h, .updateAccount(id: 99, eligible: true, frozen: false), .unknownAccount)
        expectRejected(&h, .createSecurity(Security(id: 7, symbol: "NEW", name: "n", issuer: 1, authorized: 1)), .securityExists)
        expectRejected(&h, .createSecurity(Security(id: 20, symbol: "ACME", name: "n", issuer: 1, authorized: 1)), .symbolExists)
        expectRejected(&h, .createSecurity(Security(id: 20, symbol: "bad sym", name: "n", issuer: 1, authorized: 1)), .invalidField)
        expectRejected(&h, .createSecurity(Security(id: 20, symbol: "NEW", name: "n", issuer: 99, authorized: 1)), .unknownAccount)
        expectRejected(&h, .createSecurity(Security(id: 20, symbol: "NEW", name: "n", issuer: 1, authorized: 0)), .invalidField)
        expectRejected(&h, .issue(security: 7, to: 2, shares: 990_001), .exceedsAuthorized)
        expectRejected(&h, .issue(security: 7, to: 99, shares: 1), .unknownAccount)
        expectRejected(&h, .issue(security: 99, to: 2, shares: 1), .unknownSecurity)
        expectRejected(&h, .issue(security: 7, to: 2, shares: 0), .invalidField)
        expectRejected(&h, .issue(security: 7, to: 2, shares: Int64.max), .overflow)
        expectRejected(&h, .issue(security: 8, to: 4, shares: 1), .notEligible)
        expectRejected(&h, .issue(security: 9, to: 2, shares: 5), .notLotMultiple)
        expectRejected(&h, .issue(security: 7, to: 5, shares: 1), .accountFrozen)
        expectRejected(&h, .redeem(security: 7, from: 2, shares: 10_001), .insufficientShares)
        expectRejected(&h, .deposit(account: 99, amount: 1), .unknownAccount)
        expectRejected(&h, .deposit(account: 3, amount: -5), .invalidField)
        expectRejected(&h, .deposit(account: 3, amount: Int64.max), .overflow)
        expectRejected(&h, .withdraw(account: 3, amount: 1_000_001), .insufficientCash)
        expectRejected(&h, .transfer(security: 7, from: 2, to: 3, shares: 10_001), .insufficientShares)
        expectRejected(&h, .transfer(security: 7, from: 2, to: 2, shares: 1), .sameAccount)
        expectRejected(&h, .transfer(security: 7, from: 2, to: 99, shares: 1), .unknownAccount)
        expectRejected(&h, .transfer(security: 7, from: 2, to: 5, shares: 1), .accountFrozen)
        expectRejected(&h, .transfer(security: 9, from: 2, to: 3, shares: 10), .lockedUp)
        h.admin(.issue(security: 8, to: 2, shares: 10))
        expectRejected(&h, .transfer(security: 8, from: 2, to: 4, shares: 1), .notEligible)
        expectRejected(&h, .split(security: 7, numerator: 0, denominator: 1), .invalidField)
        expectRejected(&h, .split(security: 7, numerator: Int64.max, denominator: 1), .overflow)
        expectRejected(&h, .split(security: 99, numerator: 2, denominator: 1), .unknownSecurity)
        expectRejected(&h, .resume(security: 7), .notHalted)
        h.admin(.halt(security: 7))
        expectRejected(&h, .halt(security: 7), .alreadyHalted)
        expectRejected(&h, .transfer(security: 7, from: 2, to: 3, shares: 1), .securityHalted)
        #expect(h.state.invariantViolations().isEmpty)
    }

    @Test func lockUpEndsAtItsTimestamp() {
        var h = Harness.standard()
        h.admin(.createSecurity(Security(id: 9, symbol: "LOCK", name: "Locked", issuer: 1, authorized: 1_000,
                                         restriction: .lockUp(until: 5_000_000))))
        h.admin(.issue(security: 9, to: 2, shares: 100))
        #expect(h.admin(.transfer(security: 9, from: 2, to: 3, shares: 10)).failureReason == .lockedUp)
        h.timestamp = 5_000_000
        #expect(h.admin(.transfer(security: 9, from: 2, to: 3, shares: 10)) == .applied)
    }

    @Test func authorityIsEnforced() {
        var h = Harness.standard()
        let root = h.state.stateRoot()
        let deposit = TransactionBody.deposit(account: 3, amount: 5)
        // Unknown key.
        let stranger = try! SignedTransaction(body: deposit, nonce: 100, key: Keys.stranger)
        #expect(h.state.apply(stranger, timestamp: 0).failureReason == .unknownSigner)
        // Exchange key on an admin transaction; admin key on a settle batch.
        let wrongRole = try! SignedTransaction(body: deposit, nonce: 100, key: Keys.exchange)
        #expect(h.state.apply(wrongRole, timestamp: 0).failureReason == .notAuthorized)
        let adminSettle = try! SignedTransaction(body: .settle(batchID: 1, trades: []), nonce: 100, key: Keys.admin)
        #expect(h.state.apply(adminSettle, timestamp: 0).failureReason == .notAuthorized)
        // Tampered body: the signature no longer matches.
        var tampered = try! SignedTransaction(body: deposit, nonce: 100, key: Keys.admin)
        tampered.body = .deposit(account: 3, amount: 5_000_000)
        #expect(h.state.apply(tampered, timestamp: 0).failureReason == .badSignature)
        // Unsigned.
        var unsigned = try! SignedTransaction(body: deposit, nonce: 100, key: Keys.admin)
        unsigned.signature = []
        #expect(h.state.apply(unsigned, timestamp: 0).failureReason == .badSignature)
        // Replay of an applied transaction.
        let fresh = try! SignedTransaction(body: deposit, nonce: 100, key: Keys.admin)
        var copy = h.state
        #expect(copy.apply(fresh, timestamp: 0) == .applied)
        #expect(copy.apply(fresh, timestamp: 0).failureReason == .staleNonce)
        #expect(h.state.stateRoot() == root)
    }

    @Test func tradeFailuresMoveNothing() {
        var h = Harness.standard()
        h.admin(.createSecurity(Security(id: 8, symbol: "PRIV", name: "Private", issuer: 1, authorized: 1_000_000,
                                         lotSize: 10, restriction: .eligibleHoldersOnly)))
        h.admin(.createSecurity(Security(id: 9, symbol: "LOCK", name: "Locked", issuer: 1, authorized: 1_000,
                                         restriction: .lockUp(until: 5_000_000))))
        h.admin(.createSecurity(Security(id: 10, symbol: "HALT", name: "Halted", issuer: 1, authorized: 1_000)))
        h.admin(.createAccount(Account(id: 4, name: "Carol", member: 1, eligible: false)))
        h.admin(.createAccount(Account(id: 5, name: "Frozen", member: 1, eligible: true, frozen: true)))
        h.admin(.issue(security: 8, to: 2, shares: 100))
        h.admin(.issue(security: 9, to: 2, shares: 100))
        h.admin(.issue(security: 10, to: 2, shares: 100))
        h.admin(.halt(security: 10))
        h.admin(.deposit(account: 4, amount: 1_000_000))
        var before = h.state
        let rootBefore = before.stateRoot()
        let cases: [(Trade, FailureReason)] = [
            (Trade(tradeID: 1, buyer: 3, seller: 2, security: 7, shares: 10_001, price: 1), .insufficientShares),
            (Trade(tradeID: 2, buyer: 3, seller: 2, security: 7, shares: 10, price: 100_001), .insufficientCash),
            (Trade(tradeID: 3, buyer: 3, seller: 2, security: 99, shares: 1, price: 1), .unknownSecurity),
            (Trade(tradeID: 4, buyer: 99, seller: 2, security: 7, shares: 1, price: 1), .unknownAccount),
            (Trade(tradeID: 5, buyer: 3, seller: 99, security: 7, shares: 1, price: 1), .unknownAccount),
            (Trade(tradeID: 6, buyer: 2, seller: 2, security: 7, shares: 1, price: 1), .sameAccount),
            (Trade(tradeID: 7, buyer: 3, seller: 2, security: 7, shares: 0, price: 1), .invalidField),
            (Trade(tradeID: 8, buyer: 3, seller: 2, security: 7, shares: 1, price: -1), .invalidField),
            (Trade(tradeID: 9, buyer: 4, seller: 2, security: 8, shares: 10, price: 1), .notEligible),
            (Trade(tradeID: 10, buyer: 3, seller: 2, security: 8, shares: 5, price: 1), .notLotMultiple),
            (Trade(tradeID: 11, buyer: 3, seller: 2, security: 9, shares: 1, price: 1), .lockedUp),
            (Trade(tradeID: 12, buyer: 3, seller: 2, security: 10, shares: 1, price: 1), .securityHalted),
            (Trade(tradeID: 13, buyer: 5, seller: 2, security: 7, shares: 1, price: 1), .accountFrozen),
            (Trade(tradeID: 14, buyer: 3, seller: 2, security: 7, shares: 2, price: Int64.max / 2 + 1), .overflow),
        ]
        let status = h.settle(cases.map(\.0))
        #expect(status.tradeFailures == cases.map(\.1))
        guard case let .settled(count, failed) = status else { Issue.record("not settled: \(status)"); return }
        #expect(count == 0)
        #expect(failed.map(\.index) == Array(0..<UInt32(cases.count)))
        var after = h.state
        let parts = after.rootParts()
        #expect(parts.treeRoot == before.rootParts().treeRoot)
        #expect(parts.settledCount == 0)
        // Only the exchange nonce moved.
        #expect(after.stateRoot() != rootBefore)
        #expect(after.nonce(of: Keys.exchange.publicKey.rawRepresentation) == 1)
    }

    @Test func tradeIDSettlesOnce() {
        var h = Harness.standard()
        let trade = Trade(tradeID: 42, buyer: 3, seller: 2, security: 7, shares: 10, price: 5)
        // Twice in one batch: the second fails.
        let first = h.settle([trade, trade])
        #expect(first == .settled(count: 1, failed: [TradeFailure(index: 1, tradeID: 42, failure: Failure(.alreadySettled, field: "tradeID", 42))]))
        // Again in a later batch: fails, nothing moves.
        let cash = h.state.cash(3)
        #expect(h.settle([trade]).tradeFailures == [.alreadySettled])
        #expect(h.state.cash(3) == cash)
        #expect(h.state.isSettled(tradeID: 42))
        // A failed trade id is not burnt: it may settle later.
        let poor = Trade(tradeID: 43, buyer: 3, seller: 2, security: 7, shares: 10, price: 1_000_000)
        #expect(h.settle([poor]).tradeFailures == [.insufficientCash])
        #expect(!h.state.isSettled(tradeID: 43))
    }

    @Test func splitFloorsEachHoldingAndKeepsIssuedExact() {
        var h = Harness.standard()
        h.admin(.transfer(security: 7, from: 2, to: 3, shares: 3))
        h.admin(.transfer(security: 7, from: 2, to: 1, shares: 1))
        // 1-for-2 reverse split: 9996 → 4998, 3 → 1, 1 → 0.
        #expect(h.admin(.split(security: 7, numerator: 1, denominator: 2)) == .applied)
        #expect(h.state.holding(2, 7) == 4_998 && h.state.holding(3, 7) == 1 && h.state.holding(1, 7) == 0)
        #expect(h.state.securities[7]?.issued == 4_999)
        #expect(h.state.securities[7]?.authorized == 500_000)
        #expect(h.state.invariantViolations().isEmpty)
    }

    /// Thousands of random transactions; after each, the invariants hold, cash
    /// moves only by deposit and withdraw, and a rejection changes nothing.
    @Test(arguments: [UInt64(1), 2, 3])
    func randomSequenceKeepsInvariants(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var h = Harness()
        var expectedCash: Int64 = 0
        var nextTradeID: UInt64 = 1
        let accounts = 12, securities = 5
        for i in 1...accounts {
            h.admin(.createAccount(Account(id: AccountID(i), name: "A\(i)", member: 1, eligible: i % 3 != 0, frozen: i == accounts)))
        }
        for s in 1...securities {
            let restriction: TransferRestriction = s == 4 ? .eligibleHoldersOnly : (s == 5 ? .lockUp(until: 2_000_000) : .none)
            h.admin(.createSecurity(Security(id: SecurityID(s), symbol: "S\(s)", name: "Sec \(s)", issuer: 1,
                                             authorized: 1_000_000, lotSize: s == 3 ? 10 : 1, restriction: restriction)))
        }
        // The movement journal, replayed on its own, must reproduce every balance.
        h.state.recordsMovements = true
        _ = h.state.takeMovements()
        var shadow: [UInt64: Int64] = [:]
        for (account, asset, value) in h.state.balances() { shadow[leafKey(account: account, asset: asset)] = value }
        func account() -> AccountID { AccountID(Int.random(in: 1...(accounts + 1), using: &rng)) }
        func security() -> SecurityID { SecurityID(Int.random(in: 1...(securities + 1), using: &rng)) }
        func amount() -> Int64 { Int64.random(in: -5...5_000, using: &rng) }
        for step in 0..<3_000 {
            h.timestamp += Int64.random(in: 0...1_000, using: &rng)
            let body: TransactionBody
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<12: body = .issue(security: security(), to: account(), shares: amount() * 10)
            case 12..<16: body = .redeem(security: security(), from: account(), shares: amount())
            case 16..<28: body = .deposit(account: account(), amount: amount() * 100)
            case 28..<33: body = .withdraw(account: account(), amount: amount() * 10)
            case 33..<45: body = .transfer(security: security(), from: account(), to: account(), shares: amount())
            case 45..<47: body = .split(security: security(), numerator: Int64.random(in: 1...3, using: &rng), denominator: Int64.random(in: 1...3, using: &rng))
            case 47..<49: body = .halt(security: security())
            case 49..<52: body = .resume(security: security())
            case 52..<53: body = .updateAccount(id: account(), eligible: Bool.random(using: &rng), frozen: false)
            default:
                var trades: [Trade] = []
                for _ in 0..<Int.random(in: 1...20, using: &rng) {
                    let reuse = Int.random(in: 0..<20, using: &rng) == 0 && nextTradeID > 1
                    let id = reuse ? UInt64.random(in: 1..<nextTradeID, using: &rng) : nextTradeID
                    if !reuse { nextTradeID += 1 }
                    trades.append(Trade(tradeID: id, buyer: account(), seller: account(), security: security(),
                                        shares: amount(), price: Int64.random(in: 0...300, using: &rng)))
                }
                body = .settle(batchID: UInt64(step), trades: trades)
            }
            let rootBefore = h.state.stateRoot()
            let status = body.isSettlement ? { () -> TransactionStatus in
                h.exchangeNonce += 1
                return h.state.apply(try! SignedTransaction(body: body, nonce: h.exchangeNonce, key: Keys.exchange), timestamp: h.timestamp)
            }() : h.admin(body)
            let movements = h.state.takeMovements()
            if case .rejected = status { #expect(movements.isEmpty, "seed \(seed) step \(step): a rejection recorded movements") }
            for m in movements { shadow[leafKey(account: m.account, asset: m.asset), default: 0] += m.delta }
            switch (status, body) {
            case (.applied, let .deposit(_, amount)): expectedCash += amount
            case (.applied, let .withdraw(_, amount)): expectedCash -= amount
            case (.rejected, _):
                #expect(h.state.stateRoot() == rootBefore, "seed \(seed) step \(step): rejection changed state")
                if body.isSettlement { h.exchangeNonce -= 1 } else { h.adminNonce -= 1 }
            default: break
            }
            let problems = h.state.invariantViolations()
            #expect(problems.isEmpty, "seed \(seed) step \(step) \(body.kindName): \(problems)")
            #expect(h.state.totalCash == expectedCash, "seed \(seed) step \(step) \(body.kindName): cash not conserved")
            if !problems.isEmpty { return }
        }
        #expect(h.state.settledCount > 100, "seed \(seed): the sequence settled too little to mean anything")
        let journal = shadow.filter { $0.value != 0 }
        var actual: [UInt64: Int64] = [:]
        for (account, asset, value) in h.state.balances() { actual[leafKey(account: account, asset: asset)] = value }
        #expect(journal == actual, "seed \(seed): the movement journal does not reproduce the balances")
    }
}
