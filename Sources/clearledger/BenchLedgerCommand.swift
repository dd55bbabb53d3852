import ArgumentParser
import Cryptography
import Foundation
import Ledger

/// Settlement throughput in three stages — state only, full block execution
/// (signature, Merkle root, state root), and block-store append with fsync — plus
/// snapshot and restart time for a large ledger.
struct BenchLedgerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ledger", abstract: "Benchmark ledger settlement, blocks and the block store.")

    @Option(help: "Trades per settle batch (one batch per block).") var tradesPerBatch = 5_000
    @Option(help: "Accounts.") var accounts = 1_000
    @Option(help: "Securities.") var securities = 100
    @Option(help: "Batches per stage.") var batches = 200
    @Option(help: "Seed for the generated trades.") var seed: UInt64 = 1
    @Option(help: "Also measure snapshot write and restart for a ledger with this many holdings (0: skip).")
    var snapshotHoldings = 1_000_000
    @Option(help: "Directory for the block store and snapshot (a fresh subdirectory is made and removed).")
    var directory = "/tmp"
    @Option(help: "State tree size, log2 of its buckets (8, 12, 16, 20); about 16 balances per bucket suits it, so 12 for the default 101,000 balances.")
    var stateTreeBucketBits = 12
    @Flag(help: "Print one JSON object as the last line.") var json = false

    static func now() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((Double(sorted.count) * p).rounded(.up)) - 1
        return sorted[min(sorted.count - 1, max(0, rank))]
    }

    static func baseState(accounts: Int, securities: Int, authority: Authority, bits: Int, sharesEach: Int64 = 10_000_000) -> LedgerState {
        var state = LedgerState(authority: authority, stateTreeBucketBits: bits)
        for a in 1...accounts {
            _ = state.applyAuthorized(.createAccount(Account(id: AccountID(a), name: "acct\(a)", member: 1, eligible: true)), timestamp: 0)
            _ = state.applyAuthorized(.deposit(account: AccountID(a), amount: 1 << 50), timestamp: 0)
        }
        for s in 1...securities {
            _ = state.applyAuthorized(.createSecurity(Security(id: SecurityID(s), symbol: "S\(s)", name: "Security \(s)", issuer: 1,
                                                              authorized: 1 << 55)), timestamp: 0)
            for a in 1...accounts { _ = state.applyAuthorized(.issue(security: SecurityID(s), to: AccountID(a), shares: sharesEach), timestamp: 0) }
        }
        return state
    }

    func run() throws {
        try runReportingErrors {
            guard tradesPerBatch > 0, tradesPerBatch <= CodecLimits.maxTradesPerBatch else {
                throw CommandError("--trades-per-batch=\(tradesPerBatch): must be 1…\(CodecLimits.maxTradesPerBatch)")
            }
            guard accounts >= 2, securities >= 1, batches >= 1 else { throw CommandError("--accounts ≥ 2, --securities ≥ 1, --batches ≥ 1 needed") }
            print("bench ledger: trades-per-batch=\(tradesPerBatch) accounts=\(accounts) securities=\(securities) batches=\(batches) seed=\(seed) snapshot-holdings=\(snapshotHoldings) state-tree-bucket-bits=\(stateTreeBucketBits)")
            let exchange = try Ed25519PrivateKey(seed: [UInt8](repeating: 0xE1, count: 32))
            let admin = try Ed25519PrivateKey(seed: [UInt8](repeating: 0xA1, count: 32))
            let authority = Authority(adminKeys: [admin.publicKey], exchangeKey: exchange.publicKey)

            var setupStart = Self.now()
            guard StateTree.isValid(bucketBits: stateTreeBucketBits) else {
                throw CommandError("--state-tree-bucket-bits=\(stateTreeBucketBits): must be 8, 12, 16 or 20")
            }
            let base = Self.baseState(accounts: accounts, securities: securities, authority: authority, bits: stateTreeBucketBits)
            print(String(format: "setup: %d holdings + %d cash balances in %.2f s", accounts * securities, accounts, Double(Self.now() - setupStart) / 1e9))

            var rng = AppendRandom(seed: seed)
            var tradeID: UInt64 = 0
            let generated: [[Trade]] = (0..<batches).map { _ in
                (0..<tradesPerBatch).map { _ in
                    tradeID += 1
                    let buyer = AccountID.random(in: 1...AccountID(accounts), using: &rng)
                    var seller = AccountID.random(in: 1...AccountID(accounts - 1), using: &rng)
                    if seller >= buyer { seller += 1 }
                    return Trade(tradeID: tradeID, buyer: buyer, seller: seller, security: SecurityID.random(in: 1...SecurityID(securities), using: &rng),
                                 shares: Int64.random(in: 1...100, using: &rng), price: Int64.random(in: 1...10_000, using: &rng),
                                 buyOrderID: tradeID * 2, sellOrderID: tradeID * 2 + 1, matchTime: Int64(tradeID))
                }
            }
            let totalTrades = Double(batches * tradesPerBatch)

            // Stage 1: the state machine alone.
            var state = base
            _ = state.applyAuthorized(.deposit(account: 1, amount: 1), timestamp: 0) // take the copy-on-write copy outside the clock
            var applyLatencies: [Double] = []
            var settledCount = 0
            var start = Self.now()
            for (i, trades) in generated.enumerated() {
                let t0 = Self.now()
                if case let .settled(count, _) = state.applyAuthorized(.settle(batchID: UInt64(i + 1), trades: trades), timestamp: 1) {
                    settledCount += count
                }
                applyLatencies.append(Double(Self.now() - t0) / 1_000)
            }
            let applySeconds = Double(Self.now() - start) / 1e9
            let applyRate = totalTrades / applySeconds
            applyLatencies.sort()
            print(String(format: "apply to state:        %12.0f trades/s  (%d of %.0f settled; batch p50 %.0f µs, p99 %.0f µs)",
                         applyRate, settledCount, totalTrades, Self.percentile(applyLatencies, 0.5), Self.percentile(applyLatencies, 0.99)))

            // Stage 2: full block execution as a replica does it.
            var txs: [SignedTransaction] = []
            for (i, trades) in generated.enumerated() {
                txs.append(try SignedTransaction(body: .settle(batchID: UInt64(i + 1), trades: trades), nonce: UInt64(i + 1), key: exchange))
            }
            var chain = LedgerChain(state: base, height: 0, headHash: SHA256.hash("bench"))
            var blockLatencies: [Double] = []
            var proposeNanos: UInt64 = 0
            var stored: [[UInt8]] = []
            stored.reserveCapacity(batches)
            var encodeNanos: UInt64 = 0
            start = Self.now()
            var executeNanos: UInt64 = 0
            for tx in txs {
                let p0 = Self.now()
                let block = chain.makeBlock(timestamp: 1, transactions: [tx])
                let t0 = Self.now()
                let receipt = try chain.execute(block)
                let t1 = Self.now()
                stored.append(StoredBlock(block: block, certificate: nil, receipt: receipt).encoded)
                encodeNanos += Self.now() - t1
                proposeNanos += t0 - p0
                executeNanos += t1 - t0
                blockLatencies.append(Double(t1 - t0) / 1_000)
            }
            let blockRate = totalTrades / (Double(executeNanos) / 1e9)
            blockLatencies.sort()
            print(String(format: "execute block:         %12.0f trades/s  (signature, Merkle root, apply, state root; batch p50 %.0f µs, p99 %.0f µs)",
                         blockRate, Self.percentile(blockLatencies, 0.5), Self.percentile(blockLatencies, 0.99)))
            print(String(format: "  propose (make block):  %.0f µs per block; encode stored block %.0f µs (%d bytes)",
                         Double(proposeNanos) / Double(batches) / 1e3, Double(encodeNanos) / Double(batches) / 1e3, stored.first?.count ?? 0))

            // Where a block's time goes, measured piece by piece on a fresh copy.
            var pieces = (verify: UInt64(0), merkle: UInt64(0), apply: UInt64(0), root: UInt64(0))
            var probe = base
            _ = probe.stateRoot()
            for (i, tx) in txs.enumerated() {
                let t0 = Self.now()
                guard exchange.publicKey.isValidSignature(tx.signature, for: tx.signingBytes) else { throw CommandError("bench: signature") }
                let t1 = Self.now()
                _ = Block.transactionsRoot([tx])
                let t2 = Self.now()
                _ = probe.applyAuthorized(.settle(batchID: UInt64(i + 1), trades: generated[i]), timestamp: 1)
                let t3 = Self.now()
                _ = probe.stateRoot()
                let t4 = Self.now()
                pieces.verify += t1 - t0; pieces.merkle += t2 - t1; pieces.apply += t3 - t2; pieces.root += t4 - t3
            }
            let perBlock = { (n: UInt64) in Double(n) / Double(batches) / 1e3 }
            print(String(format: "  per block: encode+verify signature %.0f µs, Merkle root %.0f µs, apply %.0f µs, state root %.0f µs",
                         perBlock(pieces.verify), perBlock(pieces.merkle), perBlock(pieces.apply), perBlock(pieces.root)))

            // Stage 3: block store append, one fsync per block.
            let work = directory + "/clearledger-bench-\(getpid())"
            defer { try? FileManager.default.removeItem(atPath: work) }
            var appendLatencies: [Double] = []
            start = Self.now()
            do { // the store holds the directory's lock until it goes away
                let store = try BlockStore(directory: work + "/blocks")
                for record in stored {
                    let t0 = Self.now()
                    try store.append(record)
                    appendLatencies.append(Double(Self.now() - t0) / 1_000)
                }
            }
            let appendSeconds = Double(Self.now() - start) / 1e9
            let blocksPerSecond = Double(batches) / appendSeconds
            appendLatencies.sort()
            print(String(format: "store append + fsync:  %12.1f blocks/s = %.0f trades/s  (append p50 %.0f µs, p99 %.0f µs)",
                         blocksPerSecond, blocksPerSecond * Double(tradesPerBatch), Self.percentile(appendLatencies, 0.5), Self.percentile(appendLatencies, 0.99)))
            start = Self.now()
            let reopened = try BlockStore(directory: work + "/blocks")
            let reopenSeconds = Double(Self.now() - start) / 1e9
            print(String(format: "store reopen (CRC scan of %d blocks): %.3f s", reopened.count, reopenSeconds))

            // Stage 4: snapshot and restart of a large ledger.
            var snapshotKeys: [String: Double] = [:]
            if snapshotHoldings > 0 {
                let perAccount = max(1, securities)
                let bigAccounts = max(2, snapshotHoldings / perAccount)
                setupStart = Self.now()
                var big = LedgerChain(state: Self.baseState(accounts: bigAccounts, securities: perAccount, authority: authority, bits: 16, sharesEach: 1_000),
                                      height: 1, headHash: SHA256.hash("bench"))
                let buildSeconds = Double(Self.now() - setupStart) / 1e9
                let leaves = big.state.leafCount
                let t0 = Self.now()
                let payload = big.snapshot()
                let t1 = Self.now()
                let path = work + "/snapshot.bin"
                _ = FileManager.default.createFile(atPath: path, contents: nil)
                guard let handle = FileHandle(forWritingAtPath: path) else { throw CommandError("--directory=\(directory): cannot write snapshot") }
                try handle.write(contentsOf: payload)
                try handle.synchronize()
                try handle.close()
                let t2 = Self.now()
                guard let data = FileManager.default.contents(atPath: path) else { throw CommandError("--directory=\(directory): cannot read snapshot") }
                let restored = try LedgerChain.restore(snapshot: [UInt8](data), authority: authority)
                let t3 = Self.now()
                guard restored.stateRoot == big.stateRoot else { throw CommandError("snapshot: restored root differs") }
                snapshotKeys = ["snapshot_leaves": Double(leaves), "snapshot_bytes": Double(payload.count),
                                "snapshot_encode_ms": Double(t1 - t0) / 1e6, "snapshot_write_fsync_ms": Double(t2 - t1) / 1e6,
                                "restart_read_restore_ms": Double(t3 - t2) / 1e6]
                print(String(format: "snapshot of %d balances (built in %.1f s): encode %.0f ms, write+fsync %.0f ms (%.1f MB); restart (read, decode, rebuild tree, root) %.0f ms",
                             leaves, buildSeconds, Double(t1 - t0) / 1e6, Double(t2 - t1) / 1e6, Double(payload.count) / 1e6, Double(t3 - t2) / 1e6))
            }
            let rss = peakRSSMegabytes()
            print(String(format: "peak RSS %.1f MB", rss))
            if json {
                var object: [String: Any] = [
                    "bench": "ledger", "unit": "trades", "throughput_per_sec": applyRate.rounded(),
                    "p50_us": Self.percentile(applyLatencies, 0.5), "p99_us": Self.percentile(applyLatencies, 0.99),
                    "p999_us": Self.percentile(applyLatencies, 0.999), "peak_rss_mb": rss,
                    "block_trades_per_sec": blockRate.rounded(),
                    "block_p50_us": Self.percentile(blockLatencies, 0.5), "block_p99_us": Self.percentile(blockLatencies, 0.99),
                    "block_p999_us": Self.percentile(blockLatencies, 0.999),
                    "store_blocks_per_sec": blocksPerSecond, "store_trades_per_sec": (blocksPerSecond * Double(tradesPerBatch)).rounded(),
                    "store_p50_us": Self.percentile(appendLatencies, 0.5), "store_p99_us": Self.percentile(appendLatencies, 0.99),
                    "trades_per_batch": tradesPerBatch, "accounts": accounts, "securities": securities, "batches": batches, "seed": seed,
                    "settled": settledCount, "state_tree_bucket_bits": stateTreeBucketBits,
                ]
                for (key, value) in snapshotKeys { object[key] = value }
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            }
        }
    }
}
