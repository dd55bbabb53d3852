import Cryptography
import Glibc
@testable import Ledger
import Testing

func temporaryDirectory(_ name: String) -> String {
    var template = Array("/tmp/clearledger-\(name)-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    return path
}

func removeTree(_ path: String) {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    if (info.st_mode & S_IFMT) == S_IFDIR {
        for name in (try? FileIO.list(path)) ?? [] { removeTree(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

@Suite struct BlockStoreTests {
    @Test func crc32cKnownVector() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        // Slicing path and byte path agree on every length.
        let data = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        for n in 0..<data.count {
            var slow: UInt32 = ~0
            for byte in data[0..<n] {
                slow ^= UInt32(byte)
                for _ in 0..<8 { slow = (slow & 1) != 0 ? (slow >> 1) ^ 0x82F6_3B78 : slow >> 1 }
            }
            #expect(CRC32C.checksum(Array(data[0..<n])) == ~slow)
        }
    }

    @Test func appendReopenAndRotate() throws {
        let dir = temporaryDirectory("store")
        defer { removeTree(dir) }
        var store: BlockStore? = try BlockStore(directory: dir, segmentLimit: 300)
        let records = (0..<20).map { i in [UInt8](repeating: UInt8(i), count: 10 * i + 1) }
        for r in records.prefix(10) { try store?.append(r) }
        try store?.append(batch: Array(records.suffix(10)))
        store = nil
        let reopened = try BlockStore(directory: dir, segmentLimit: 300)
        #expect(reopened.count == 20)
        #expect(reopened.truncatedBytes == 0)
        for (i, r) in records.enumerated() { #expect(try reopened.read(i) == r) }
        #expect(try FileIO.list(dir).count > 3)
    }

    /// A mirror reads beside the running writer: no lock, no truncation, no writes.
    @Test func readOnlyOpenBesideTheWriter() throws {
        let dir = temporaryDirectory("readonly")
        defer { removeTree(dir) }
        let writer = try BlockStore(directory: dir)
        for i in 0..<3 { try writer.append([UInt8](repeating: UInt8(i), count: 100)) }
        #expect(throws: StoreError.self) { try BlockStore(directory: dir) }
        let segment = dir + "/segment-00000000.log"
        let size = try FileIO.size(segment)
        // A half-written record at the tail, as a writer mid-append leaves it.
        let fd = open(segment, O_WRONLY)
        try FileIO.write(fd, path: segment, [0, 0, 0, 100, 1, 2], at: size)
        close(fd)
        let reader = try BlockStore(directory: dir, readOnly: true)
        #expect(reader.count == 3)
        #expect(try reader.read(2) == [UInt8](repeating: 2, count: 100))
        #expect(try FileIO.size(segment) == size + 6)
        #expect(throws: StoreError.self) { try reader.append([1]) }
        #expect(throws: StoreError.self) { try BlockStore(directory: dir + "/missing", readOnly: true) }
        #expect(!FileIO.exists(dir + "/missing"))
    }

    @Test func tornTailIsCutOff() throws {
        let dir = temporaryDirectory("torn")
        defer { removeTree(dir) }
        do {
            let store = try BlockStore(directory: dir)
            for i in 0..<5 { try store.append([UInt8](repeating: UInt8(i), count: 100)) }
        }
        let segment = dir + "/segment-00000000.log"
        let full = try FileIO.readAll(segment)
        // Every cut inside the last record (header or payload) loses exactly it.
        for cut in [1, 4, 8, 50, 107] {
            let fd = open(segment, O_WRONLY | O_TRUNC)
            try FileIO.write(fd, path: segment, Array(full[0..<(full.count - cut)]), at: 0)
            close(fd)
            do {
                let store = try BlockStore(directory: dir)
                #expect(store.count == 4, "cut \(cut)")
                #expect(store.truncatedBytes == 108 - cut)
                #expect(try FileIO.size(segment) == full.count - 108)
                try store.append([9, 9, 9])
            }
            #expect(try BlockStore(directory: dir).read(4) == [9, 9, 9])
        }
        // A flipped bit in the last record is torn too.
        let fd = open(segment, O_WRONLY | O_TRUNC)
        var flipped = full
        flipped[full.count - 3] ^= 1
        try FileIO.write(fd, path: segment, flipped, at: 0)
        close(fd)
        #expect(try BlockStore(directory: dir).count == 4)
    }

    @Test func corruptionInASealedSegmentRefusesToOpen() throws {
        let dir = temporaryDirectory("sealed")
        defer { removeTree(dir) }
        do {
            let store = try BlockStore(directory: dir, segmentLimit: 200)
            for i in 0..<6 { try store.append([UInt8](repeating: UInt8(i), count: 100)) }
        }
        let segment = dir + "/segment-00000000.log"
        var bytes = try FileIO.readAll(segment)
        bytes[20] ^= 0xFF
        let fd = open(segment, O_WRONLY)
        try FileIO.write(fd, path: segment, bytes, at: 0)
        close(fd)
        let error = #expect(throws: StoreError.self) { try BlockStore(directory: dir, segmentLimit: 200) }
        #expect(error?.reason.contains("sealed") == true)
    }

    @Test func snapshotPlusReplayEqualsFullReplay() throws {
        let dir = temporaryDirectory("node")
        defer { removeTree(dir) }
        let genesis = makeGenesis(checkpointInterval: 3, accounts: [Account(id: 1, name: "I", member: 1)],
                                  securities: [Security(id: 1, symbol: "ACME", name: "Acme", issuer: 1, authorized: 1_000_000)])
        var adminNonce: UInt64 = 0
        var exchangeNonce: UInt64 = 0
        do {
            let node = try LedgerNode(directory: dir, genesis: genesis)
            var rng = SplitMix64(seed: 3)
            var tradeID: UInt64 = 0
            for height in 1...10 {
                var txs: [SignedTransaction] = []
                for i in 0..<2 {
                    let id = AccountID(height * 10 + i)
                    adminNonce += 1
                    txs.append(try SignedTransaction(body: .createAccount(Account(id: id, name: "a\(id)", member: 1)), nonce: adminNonce, key: Keys.admin))
                    adminNonce += 1
                    txs.append(try SignedTransaction(body: .deposit(account: id, amount: 100_000), nonce: adminNonce, key: Keys.admin))
                    adminNonce += 1
                    txs.append(try SignedTransaction(body: .issue(security: 1, to: id, shares: 1_000), nonce: adminNonce, key: Keys.admin))
                }
                var trades: [Trade] = []
                for _ in 0..<20 {
                    tradeID += 1
                    let buyer = AccountID(Int.random(in: 1...height, using: &rng) * 10 + Int.random(in: 0...1, using: &rng))
                    let seller = AccountID(Int.random(in: 1...height, using: &rng) * 10 + Int.random(in: 0...1, using: &rng))
                    trades.append(Trade(tradeID: tradeID, buyer: buyer, seller: seller, security: 1, shares: 10, price: 7))
                }
                exchangeNonce += 1
                txs.append(try SignedTransaction(body: .settle(batchID: exchangeNonce, trades: trades), nonce: exchangeNonce, key: Keys.exchange))
                let block = node.chain.makeBlock(timestamp: Int64(height), transactions: txs)
                // A block with a bad header changes nothing, in memory or on disk.
                var forged = block
                forged.header.stateRoot = SHA256.hash("forged")
                let rootBefore = node.chain.stateRoot
                #expect(throws: StoreError.self) { try node.commit(forged) }
                #expect(node.height == UInt64(height - 1) && node.chain.stateRoot == rootBefore && node.blockCount == height - 1)
                try node.commit(block)
            }
            #expect(node.chain.state.settledCount > 50)
        }
        func open(useSnapshots: Bool = true, genesis: Genesis = genesis) throws -> (LedgerChain, UInt64, Int) {
            let node = try LedgerNode(directory: dir, genesis: genesis, useSnapshots: useSnapshots)
            return (node.chain, node.restoredFromHeight, node.replayedBlocks)
        }
        let fromSnapshot = try open()
        let full = try open(useSnapshots: false)
        #expect(fromSnapshot.1 == 9)
        #expect(fromSnapshot.2 == 1)
        #expect(full.1 == 0 && full.2 == 10)
        #expect(fromSnapshot.0.stateRoot == full.0.stateRoot)
        #expect(fromSnapshot.0.headHash == full.0.headHash)
        #expect(try FileIO.list(dir + "/snapshots").count == 2)
        // A different genesis cannot open this chain.
        var other = genesis
        other.chainID = "other"
        #expect(throws: StoreError.self) { try open(genesis: other) }
        // One process (one open) at a time.
        do {
            let holder = try LedgerNode(directory: dir, genesis: genesis)
            let error = #expect(throws: StoreError.self) { try LedgerNode(directory: dir, genesis: genesis) }
            #expect(error?.reason.contains("in use") == true)
            #expect(holder.height == 10)
        }
        // A corrupt newest snapshot falls back to the older one.
        let newest = dir + "/snapshots/snapshot-" + FileIO.padded(9, width: 20) + ".snap"
        var bytes = try FileIO.readAll(newest)
        bytes[bytes.count - 1] ^= 1
        try FileIO.writeAtomically(newest, directory: dir + "/snapshots", bytes)
        let fallback = try open()
        #expect(fallback.1 == 6)
        #expect(fallback.0.stateRoot == full.0.stateRoot)
    }
}
