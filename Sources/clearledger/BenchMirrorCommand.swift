import ArgumentParser
import Cryptography
import Foundation
import Ledger
import Mirror

/// Mirror throughput into PostgreSQL beside the ceiling: a raw COPY of narrow
/// rows into unindexed tables, in text and in binary format, in the same run.
struct BenchMirrorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mirror",
        abstract: "Benchmark the mirror (rows/s, blocks/s) against raw COPY text and binary, in a scratch schema of --db.")

    @Option(help: "libpq connection string or URI; the bench works in a schema of its own and drops it.") var db: String
    @Option(help: "Settle blocks to mirror.") var blocks = 20
    @Option(help: "Trades per block.") var tradesPerBlock = 5_000
    @Option(help: "Accounts.") var accounts = 200
    @Option(help: "Securities.") var securities = 10
    @Option(help: "Blocks per mirror transaction.") var batchBlocks = 1
    @Option(help: "Rows for the raw COPY ceiling.") var rawRows = 1_000_000
    @Option(help: "Seed for the generated trades.") var seed: UInt64 = 1
    @Option(help: "Migrations folder (default: Database/migrations of the checkout).") var migrations: String?
    @Flag(help: "Print one JSON object as the last line.") var json = false

    func run() throws {
        try runReportingErrors {
            guard blocks >= 1, tradesPerBlock >= 1, tradesPerBlock <= CodecLimits.maxTradesPerBatch, accounts >= 2, securities >= 1,
                  rawRows >= 1, batchBlocks >= 1 else {
                throw CommandError("--blocks, --trades-per-block (≤ \(CodecLimits.maxTradesPerBatch)), --raw-rows, --batch-blocks ≥ 1 and --accounts ≥ 2 needed")
            }
            print("bench mirror: blocks=\(blocks) trades-per-block=\(tradesPerBlock) accounts=\(accounts) securities=\(securities) batch-blocks=\(batchBlocks) raw-rows=\(rawRows) seed=\(seed)")
            let folder = try databaseFolder(migrations, "migrations", flag: "--migrations")
            let connection = try connect(db)
            let schema = "clearledger_bench_\(getpid())"
            try connection.query("CREATE SCHEMA \(try connection.quoteIdentifier(schema))")
            defer { _ = try? connection.query("DROP SCHEMA \((try? connection.quoteIdentifier(schema)) ?? schema) CASCADE") }
            try connection.query("SELECT set_config('search_path', $1, false)", [schema])

            let (textRate, binaryRate) = try rawCopy(connection)
            print(String(format: "raw COPY of %d narrow rows into an unindexed table: text %.0f rows/s, binary %.0f rows/s", rawRows, textRate, binaryRate))

            let directory = NSTemporaryDirectory() + "clearledger-bench-mirror-\(getpid())"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let (genesis, settleRows) = try buildLedger(directory)
            try Migrator.migrate(connection, try Migrator.load(directory: folder))
            let mirror = LedgerMirror(ledgerDirectory: directory, genesis: genesis, batchBlocks: batchBlocks)
            // The setup blocks first (thousands of signed admin transactions to verify),
            // so the timed part is settle blocks only.
            let setupHeight = UInt64(blocksBefore(directory) - blocks)
            try mirror.mirrorAvailable(into: connection, through: setupHeight)
            let started = monotonicNanoseconds()
            let progress = try mirror.mirrorAvailable(into: connection)
            let seconds = Double(monotonicNanoseconds() - started) / 1e9
            let rate = Double(progress.rows) / seconds
            print(String(format: "mirror: %d blocks, %d rows (%d in the settle blocks) in %.2f s: %.0f rows/s, %.1f blocks/s, %.0f trades/s (includes executing the blocks to derive movements)",
                         progress.blocks, progress.rows, settleRows, seconds, rate, Double(progress.blocks) / seconds,
                         Double(blocks * tradesPerBlock) / seconds))
            print(String(format: "mirror / raw text COPY: %.2f", rate / textRate))
            if json {
                print("{\"bench\":\"mirror\",\"throughput_per_sec\":\(Int(rate)),\"unit\":\"rows\",\"blocks_per_sec\":\(String(format: "%.2f", Double(progress.blocks) / seconds)),\"raw_copy_text_rows_per_sec\":\(Int(textRate)),\"raw_copy_binary_rows_per_sec\":\(Int(binaryRate)),\"rows\":\(progress.rows),\"blocks\":\(progress.blocks),\"trades_per_block\":\(tradesPerBlock),\"seed\":\(seed),\"peak_rss_mb\":\(String(format: "%.1f", peakResidentMegabytes()))}")
            }
        }
    }

    /// The same narrow rows (a holding movement's shape, all bigint plus a short
    /// text) by COPY text and by COPY binary into unlogged, unindexed tables.
    private func rawCopy(_ connection: PostgresConnection) throws -> (Double, Double) {
        try connection.query("CREATE UNLOGGED TABLE raw_text (height bigint, tx integer, idx integer, account bigint, security bigint, delta bigint, kind text, trade bigint)")
        try connection.query("CREATE UNLOGGED TABLE raw_binary (LIKE raw_text)")
        var text: [UInt8] = []
        text.reserveCapacity(rawRows * 48)
        var binary: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00] + [0, 0, 0, 0] + [0, 0, 0, 0]
        binary.reserveCapacity(rawRows * 90)
        func be<I: FixedWidthInteger>(_ value: I) { withUnsafeBytes(of: value.bigEndian) { binary.append(contentsOf: $0) } }
        for i in 0..<rawRows {
            let row: (Int64, Int32, Int32, Int64, Int64, Int64, Int64) = (Int64(i / 25_000 + 1), 0, Int32(i % 25_000), Int64(i % 1000 + 1),
                                                                       Int64(i % 10 + 1), Int64(i % 2 == 0 ? -17 : 17), Int64(i / 4 + 1))
            text.append(contentsOf: "\(row.0)\t\(row.1)\t\(row.2)\t\(row.3)\t\(row.4)\t\(row.5)\ttrade\t\(row.6)\n".utf8)
            be(Int16(8))
            be(Int32(8)); be(row.0); be(Int32(4)); be(row.1); be(Int32(4)); be(row.2)
            be(Int32(8)); be(row.3); be(Int32(8)); be(row.4); be(Int32(8)); be(row.5)
            be(Int32(5)); binary.append(contentsOf: Array("trade".utf8)); be(Int32(8)); be(row.6)
        }
        be(Int16(-1))
        let t0 = monotonicNanoseconds()
        let textRows = try connection.copy("COPY raw_text FROM STDIN", data: text)
        let t1 = monotonicNanoseconds()
        let binaryRows = try connection.copy("COPY raw_binary FROM STDIN (FORMAT binary)", data: binary)
        let t2 = monotonicNanoseconds()
        guard textRows == rawRows, binaryRows == rawRows else { throw CommandError("raw COPY: \(textRows) and \(binaryRows) rows, expected \(rawRows)") }
        return (Double(rawRows) / (Double(t1 - t0) / 1e9), Double(rawRows) / (Double(t2 - t1) / 1e9))
    }

    private func blocksBefore(_ directory: String) -> Int {
        (try? BlockStore(directory: directory + "/blocks", readOnly: true).count) ?? blocks
    }

    /// A ledger directory: genesis with the accounts and securities, block 1
    /// issuing and depositing, then settle blocks of random trades.
    private func buildLedger(_ directory: String) throws -> (Genesis, Int) {
        let admin = try Ed25519PrivateKey(seed: [UInt8](repeating: 0xA1, count: 32))
        let exchange = try Ed25519PrivateKey(seed: [UInt8](repeating: 0xE1, count: 32))
        let member = try Ed25519PrivateKey(seed: [UInt8](repeating: 0x31, count: 32))
        let genesis = Genesis(
            chainID: "bench-mirror", members: [.init(id: 1, name: "m1", address: "127.0.0.1:1", publicKey: member.publicKey)], f: 0,
            adminKeys: [admin.publicKey], exchangeKey: exchange.publicKey, checkpointInterval: 1_000_000,
            accounts: (1...accounts).map { Account(id: AccountID($0), name: "acct\($0)", member: 1, eligible: true) },
            securities: (1...securities).map { Security(id: SecurityID($0), symbol: "S\($0)", name: "Security \($0)", issuer: 1, authorized: 1 << 55) },
            stateTreeBucketBits: 12)
        let node = try LedgerNode(directory: directory, genesis: genesis)
        var nonce: UInt64 = 0
        var setup: [SignedTransaction] = []
        for a in 1...accounts {
            nonce += 1
            setup.append(try SignedTransaction(body: .deposit(account: AccountID(a), amount: 1 << 50), nonce: nonce, key: admin))
            for s in 1...securities {
                nonce += 1
                setup.append(try SignedTransaction(body: .issue(security: SecurityID(s), to: AccountID(a), shares: 10_000_000), nonce: nonce, key: admin))
            }
        }
        var time: Timestamp = 1_795_600_800_000_000
        for chunk in stride(from: 0, to: setup.count, by: CodecLimits.maxTransactionsPerBlock) {
            time += 1_000_000
            try node.commit(node.chain.makeBlock(timestamp: time, transactions: Array(setup[chunk..<min(setup.count, chunk + CodecLimits.maxTransactionsPerBlock)])))
        }
        var rng = AppendRandom(seed: seed)
        var tradeID: UInt64 = 0
        for b in 0..<blocks {
            let trades: [Trade] = (0..<tradesPerBlock).map { _ in
                tradeID += 1
                let buyer = AccountID.random(in: 1...AccountID(accounts), using: &rng)
                var seller = AccountID.random(in: 1...AccountID(accounts - 1), using: &rng)
                if seller >= buyer { seller += 1 }
                return Trade(tradeID: tradeID, buyer: buyer, seller: seller, security: SecurityID.random(in: 1...SecurityID(securities), using: &rng),
                             shares: Int64.random(in: 1...100, using: &rng), price: Int64.random(in: 1...10_000, using: &rng),
                             buyOrderID: tradeID * 2, sellOrderID: tradeID * 2 + 1, matchTime: time)
            }
            time += 1_000_000
            let tx = try SignedTransaction(body: .settle(batchID: UInt64(b + 1), trades: trades), nonce: UInt64(b + 1), key: exchange)
            try node.commit(node.chain.makeBlock(timestamp: time, transactions: [tx]))
        }
        // Per settle block: the block, the transaction, each trade, 2 holding and 2 cash movements per trade.
        return (genesis, blocks * (2 + 5 * tradesPerBlock))
    }
}
