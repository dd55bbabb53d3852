import Cryptography
@testable import Ledger
import Testing

@Suite struct CodecTests {
    static let everyBody: [TransactionBody] = [
        .createAccount(Account(id: 1, name: "Ünïcode name", member: 3, eligible: true, frozen: false)),
        .updateAccount(id: 1, eligible: false, frozen: true),
        .createSecurity(Security(id: 2, symbol: "ACME", name: "Acme", issuer: 1, shareClass: "B", authorized: 10,
                                 cashPerTick: 100, lotSize: 5, restriction: .lockUp(until: -3))),
        .createSecurity(Security(id: 3, symbol: "X", name: "x", issuer: 1, authorized: 1, restriction: .eligibleHoldersOnly)),
        .issue(security: 2, to: 1, shares: Int64.max),
        .redeem(security: 2, from: 1, shares: -1),
        .deposit(account: 1, amount: 7),
        .withdraw(account: 1, amount: 8),
        .transfer(security: 2, from: 1, to: 9, shares: 3),
        .split(security: 2, numerator: 3, denominator: 2),
        .halt(security: 2),
        .resume(security: 2),
        .settle(batchID: 77, trades: (0..<50).map {
            Trade(tradeID: UInt64($0), buyer: 1, seller: 2, security: 3, shares: Int64($0), price: -Int64($0),
                  buyOrderID: .max, sellOrderID: 5, matchTime: Int64.min)
        }),
    ]

    static func sampleBlock() -> Block {
        let txs = everyBody.enumerated().map { i, body in
            try! SignedTransaction(body: body, nonce: UInt64(i + 1), key: body.isSettlement ? Keys.exchange : Keys.admin)
        }
        let header = BlockHeader(height: 5, previousHash: SHA256.hash("prev"), view: 2, sequence: 9, timestamp: 1_700_000_000_000_000,
                                 transactionsRoot: Block.transactionsRoot(txs), stateRoot: SHA256.hash("state"))
        return Block(header: header, transactions: txs)
    }

    static func sampleStored() -> StoredBlock {
        let block = sampleBlock()
        let cert = CommitCertificate(view: 2, sequence: 9, blockHash: block.hash,
                                     votes: [.init(member: 1, signature: [UInt8](repeating: 7, count: 64))])
        let receipt = Receipt(height: 5, blockHash: block.hash, statuses: [
            .applied, .rejected(Failure(.unknownAccount, field: "to", 9)),
            .settled(count: 3, failed: [TradeFailure(index: 1, tradeID: 2, failure: Failure(.insufficientCash, field: "buyer", 1))]),
        ], stateRoot: SHA256.hash("after"))
        return StoredBlock(block: block, certificate: cert, receipt: receipt)
    }

    @Test func roundTrips() throws {
        for (i, body) in Self.everyBody.enumerated() {
            let tx = try SignedTransaction(body: body, nonce: UInt64(i), key: Keys.admin)
            #expect(try SignedTransaction.decode(tx.encoded) == tx)
        }
        let block = Self.sampleBlock()
        let decoded = try Block.decode(block.encoded)
        #expect(decoded == block)
        #expect(decoded.encoded == block.encoded)
        #expect(decoded.hash == block.hash)
        let stored = Self.sampleStored()
        #expect(try StoredBlock.decode(stored.encoded) == stored)
        let noCert = StoredBlock(block: block, certificate: nil, receipt: stored.receipt)
        #expect(try StoredBlock.decode(noCert.encoded) == noCert)
    }

    /// A transaction whose bytes would not decode back to itself (an over-long
    /// name would be cut by the encoder) makes the block malformed: executing the
    /// object and executing its decoded bytes must never differ.
    @Test func blocksOnlyCarryFaithfullyEncodableTransactions() throws {
        let name = String(repeating: "é", count: 300) // 600 UTF-8 bytes
        var chain = try LedgerChain(genesis: makeGenesis())
        let tx = try SignedTransaction(body: .createAccount(Account(id: 5, name: name, member: 1)), nonce: 1, key: Keys.admin)
        #expect(tx.encodingProblem?.hasPrefix("name: 600 bytes") == true)
        let block = chain.makeBlock(timestamp: 1, transactions: [tx])
        let error = #expect(throws: BlockError.self) { try chain.execute(block) }
        #expect(error == .malformedTransaction(index: 0, reason: "name: 600 bytes exceeds the limit 256"))
        #expect(chain.height == 0)
        var unsigned = try SignedTransaction(body: .deposit(account: 1, amount: 1), nonce: 1, key: Keys.admin)
        unsigned.signature = []
        #expect(throws: BlockError.self) { try chain.execute(chain.makeBlock(timestamp: 1, transactions: [unsigned])) }
        // The encoder's own guard still cuts on a character boundary.
        var w = ByteWriter()
        w.string("a" + String(repeating: "€", count: 100)) // 1 + 300 bytes: cut to 1 + 85 × 3
        var r = ByteReader(w.bytes)
        #expect(try r.string("s").utf8.count == 256)
    }

    @Test func snapshotRoundTripKeepsRoot() throws {
        var h = Harness.standard()
        h.settle([Trade(tradeID: 9, buyer: 3, seller: 2, security: 7, shares: 10, price: 5)])
        var chain = LedgerChain(state: h.state, height: 3, headHash: SHA256.hash("head"))
        let bytes = chain.snapshot()
        var restored = try LedgerChain.restore(snapshot: bytes, authority: h.state.authority)
        #expect(restored.stateRoot == chain.stateRoot)
        #expect(restored.snapshot() == bytes)
        #expect(restored.state.isSettled(tradeID: 9))
        #expect(restored.state.nonce(of: Keys.admin.publicKey.rawRepresentation) == h.adminNonce)
    }

    /// A snapshot that decodes but describes an impossible state (a lot size of
    /// zero would divide by zero on the next trade) is refused.
    @Test func snapshotsWithImpossibleStateAreRejected() throws {
        let h = Harness.standard()
        var chain = LedgerChain(state: h.state, height: 1, headHash: .zero)
        let good = chain.snapshot()
        #expect(throws: Never.self) { try LedgerChain.restore(snapshot: good, authority: h.state.authority) }
        // Find security 7's lot size (Int64 1) right after its cashPerTick (Int64 1) and zero it.
        var w = ByteWriter()
        Security(id: 7, symbol: "ACME", name: "Acme Inc", issuer: 1, authorized: 1_000_000, issued: 10_000).encode(into: &w)
        let needle = w.bytes
        guard let start = (0...(good.count - needle.count)).first(where: { Array(good[$0..<($0 + needle.count)]) == needle }) else {
            Issue.record("security not found in snapshot"); return
        }
        var zeroLot = good
        let lotOffset = start + needle.count - 2 - 8 // restriction tag + halted flag, then back over lotSize
        zeroLot[lotOffset + 7] = 0
        let error = #expect(throws: DecodeError.self) { try LedgerChain.restore(snapshot: zeroLot, authority: h.state.authority) }
        #expect(error?.field == "snapshot.securities")
        var wrongIssued = good
        wrongIssued[start + needle.count - 2 - 8 - 8 - 8 + 7] ^= 1 // issued 10000 → 10001: Σ holdings differs
        let invariant = #expect(throws: DecodeError.self) { try LedgerChain.restore(snapshot: wrongIssued, authority: h.state.authority) }
        #expect(invariant?.field == "snapshot")
    }

    /// The state root commits to exactly which trade ids settled: a snapshot that
    /// swaps one settled id for another (same count) no longer matches its root.
    @Test func theRootCommitsToTheSettledIDs() throws {
        var h = Harness.standard()
        h.settle([Trade(tradeID: 1, buyer: 3, seller: 2, security: 7, shares: 1, price: 1)])
        var chain = LedgerChain(state: h.state, height: 1, headHash: .zero)
        var bytes = chain.snapshot()
        // Tail: … words (1) ‖ index 0 ‖ bits 0b10 ‖ settledCount 1.
        #expect(Array(bytes.suffix(16)) == [0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1])
        bytes[bytes.count - 9] = 1 // id 0 instead of id 1
        let error = #expect(throws: DecodeError.self) { try LedgerChain.restore(snapshot: bytes, authority: h.state.authority) }
        #expect(error?.field == "snapshot.stateRoot")
    }

    /// Every decoder on every prefix of a valid encoding: an error, never a crash.
    @Test func truncationsAreErrors() {
        let bytes = Self.sampleStored().encoded
        for length in 0..<bytes.count {
            #expect(throws: DecodeError.self) { try StoredBlock.decode(Array(bytes[0..<length])) }
        }
        #expect(throws: DecodeError.self) { try StoredBlock.decode(bytes + [0]) }
    }

    @Test func hugeCountsAreRejectedBeforeAllocating() {
        var w = ByteWriter()
        BlockHeader(height: 1, previousHash: .zero, view: 0, sequence: 1, timestamp: 0, transactionsRoot: .zero, stateRoot: .zero).encode(into: &w)
        w.u32(UInt32.max)
        let error = #expect(throws: DecodeError.self) { try Block.decode(w.bytes) }
        #expect(error?.field == "block.transactions")
        #expect(error?.description.contains("exceeds the limit") == true)

        var settle = ByteWriter()
        settle.u8(1); settle.u64(1); settle.raw([UInt8](repeating: 0, count: 96)); settle.u8(12); settle.u64(1); settle.u32(50_000)
        let tradeError = #expect(throws: DecodeError.self) { try SignedTransaction.decode(settle.bytes) }
        #expect(tradeError?.field == "settle.trades")

        var string = ByteWriter()
        string.u8(1); string.u64(1); string.raw([UInt8](repeating: 0, count: 96)); string.u8(1); string.u32(1); string.u16(60_000)
        let stringError = #expect(throws: DecodeError.self) { try SignedTransaction.decode(string.bytes) }
        #expect(stringError?.field == "account.name")

        var version = Self.sampleBlock().encoded
        version[0] = 9
        let versionError = #expect(throws: DecodeError.self) { try Block.decode(version) }
        #expect(versionError?.field == "header.version")
    }

    @Test(arguments: [UInt64(11), 12])
    func randomAndMutatedBytesNeverCrash(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let valid = Self.sampleStored().encoded
        var decodedSomething = 0
        for _ in 0..<3_000 {
            var bytes: [UInt8]
            if Bool.random(using: &rng) {
                bytes = (0..<Int.random(in: 0..<400, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                bytes = valid
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            }
            if (try? StoredBlock.decode(bytes)) != nil { decodedSomething += 1 }
            _ = try? Block.decode(bytes)
            _ = try? SignedTransaction.decode(bytes)
            var r = ByteReader(bytes)
            _ = try? Receipt.decode(from: &r)
            _ = try? LedgerChain.restore(snapshot: bytes, authority: makeGenesis().authority)
        }
        // Mutations inside signatures or trade values still decode: the fuzzer reached the end.
        #expect(decodedSomething > 0, "seed \(seed)")
    }
}
