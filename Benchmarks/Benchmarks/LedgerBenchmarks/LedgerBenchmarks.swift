import Benchmark
import Cryptography
import Ledger

// Micro-benchmarks of ledger settlement: one 5,000-trade batch applied to state,
// one block executed as a replica does it (signature, Merkle root, apply, state
// root), the state root alone, and the decoder and CRC a member runs on every
// block it receives or reads back. 1,000 accounts × 100 securities, tree 2^12,
// as `clearledger bench ledger`. Run from Benchmarks/:
// `swift package benchmark --target LedgerBenchmarks`.
//
// Each iteration starts from a private copy of the base state, made before
// `startMeasurement()`. Copy-on-write still charges the measured region for the
// first write to each bucket (about 3,800 of the 3,829 mallocs of "apply"), which
// a long-running member does not pay: `clearledger bench ledger` applies batch
// after batch to one state and measures that steady state.

let tradesPerBatch = 5_000
let accountCount = 1_000
let securityCount = 100
let tradesPerSecond = BenchmarkMetric.custom("trades/s", polarity: .prefersLarger, useScalingFactor: false)
let ledgerMetrics: [BenchmarkMetric] = [.wallClock, .cpuTotal, .throughput, .mallocCountTotal, .mallocBytesCount, tradesPerSecond]

struct LedgerFixture: Sendable {
    let exchange: Ed25519PrivateKey
    let base: LedgerState
    let batches: [[Trade]]
    let transactions: [SignedTransaction]
    let encodedBlock: [UInt8]

    init?() {
        guard let exchange = try? Ed25519PrivateKey(seed: [UInt8](repeating: 0xE1, count: 32)),
              let admin = try? Ed25519PrivateKey(seed: [UInt8](repeating: 0xA1, count: 32)) else { return nil }
        self.exchange = exchange
        var state = LedgerState(authority: Authority(adminKeys: [admin.publicKey], exchangeKey: exchange.publicKey), stateTreeBucketBits: 12)
        for a in 1...AccountID(accountCount) {
            _ = state.applyAuthorized(.createAccount(Account(id: a, name: "acct\(a)", member: 1)), timestamp: 0)
            _ = state.applyAuthorized(.deposit(account: a, amount: 1 << 50), timestamp: 0)
        }
        for s in 1...SecurityID(securityCount) {
            _ = state.applyAuthorized(.createSecurity(Security(id: s, symbol: "S\(s)", name: "s", issuer: 1, authorized: 1 << 55)), timestamp: 0)
            for a in 1...AccountID(accountCount) { _ = state.applyAuthorized(.issue(security: s, to: a, shares: 10_000_000), timestamp: 0) }
        }
        _ = state.stateRoot()
        base = state
        var rng = SeededRandom(state: 1)
        var id: UInt64 = 0
        batches = (0..<16).map { _ in
            (0..<tradesPerBatch).map { _ in
                id += 1
                let buyer = AccountID.random(in: 1...AccountID(accountCount), using: &rng)
                var seller = AccountID.random(in: 1...AccountID(accountCount - 1), using: &rng)
                if seller >= buyer { seller += 1 }
                return Trade(tradeID: id, buyer: buyer, seller: seller, security: SecurityID.random(in: 1...SecurityID(securityCount), using: &rng),
                             shares: Int64.random(in: 1...100, using: &rng), price: Int64.random(in: 1...10_000, using: &rng))
            }
        }
        var transactions: [SignedTransaction] = []
        for (i, batch) in batches.enumerated() {
            guard let tx = try? SignedTransaction(body: .settle(batchID: UInt64(i + 1), trades: batch), nonce: UInt64(i + 1), key: exchange) else { return nil }
            transactions.append(tx)
        }
        self.transactions = transactions
        encodedBlock = LedgerChain(state: state, height: 0, headHash: .zero).makeBlock(timestamp: 1, transactions: [transactions[0]]).encoded
    }

    /// A private, already-unshared copy of the base state.
    func freshState() -> LedgerState {
        var state = base
        _ = state.applyAuthorized(.deposit(account: 1, amount: 1), timestamp: 0)
        _ = state.stateRoot()
        return state
    }
}

struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let fixture = LedgerFixture()

func measure(_ benchmark: Benchmark, trades: Int, _ body: () -> Void) {
    let clock = ContinuousClock()
    benchmark.startMeasurement()
    let start = clock.now
    body()
    let elapsed = start.duration(to: clock.now)
    benchmark.stopMeasurement()
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    if trades > 0, seconds > 0 { benchmark.measurement(tradesPerSecond, Int(Double(trades) / seconds)) }
}

let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(metrics: ledgerMetrics, warmupIterations: 2, scalingFactor: .one,
                                                maxDuration: .seconds(10), maxIterations: 100)

    Benchmark("Ledger/settle batch of 5,000 trades (apply)", configuration: configuration) { benchmark in
        guard let fixture else { return benchmark.error("fixture keys") }
        var state = fixture.freshState()
        let batch = fixture.batches[0]
        measure(benchmark, trades: tradesPerBatch) {
            blackHole(state.applyAuthorized(.settle(batchID: 1, trades: batch), timestamp: 1))
        }
    }

    Benchmark("Ledger/execute block of 5,000 trades", configuration: configuration) { benchmark in
        guard let fixture else { return benchmark.error("fixture keys") }
        var chain = LedgerChain(state: fixture.freshState(), height: 0, headHash: .zero)
        let block = chain.makeBlock(timestamp: 1, transactions: [fixture.transactions[0]])
        measure(benchmark, trades: tradesPerBatch) {
            blackHole(try? chain.execute(block))
        }
    }

    Benchmark("Ledger/state root after a 5,000-trade batch", configuration: configuration) { benchmark in
        guard let fixture else { return benchmark.error("fixture keys") }
        var state = fixture.freshState()
        _ = state.applyAuthorized(.settle(batchID: 1, trades: fixture.batches[0]), timestamp: 1)
        measure(benchmark, trades: tradesPerBatch) {
            blackHole(state.stateRoot())
        }
    }

    Benchmark("Ledger/decode 300 KB block", configuration: configuration) { benchmark in
        guard let fixture else { return benchmark.error("fixture keys") }
        let bytes = fixture.encodedBlock
        measure(benchmark, trades: tradesPerBatch) {
            blackHole(try? Block.decode(bytes))
        }
    }

    Benchmark("Ledger/CRC32C of a 300 KB block", configuration: configuration) { benchmark in
        guard let fixture else { return benchmark.error("fixture keys") }
        let bytes = fixture.encodedBlock
        measure(benchmark, trades: 0) {
            blackHole(CRC32C.checksum(bytes))
        }
    }
}
