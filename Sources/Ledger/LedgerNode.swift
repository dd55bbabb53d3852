import Cryptography

/// A block as the store keeps it: the block, its certificate when there is one,
/// and the receipt its execution produced.
public struct StoredBlock: Equatable, Sendable {
    public var block: Block
    public var certificate: CommitCertificate?
    public var receipt: Receipt

    public init(block: Block, certificate: CommitCertificate?, receipt: Receipt) {
        self.block = block
        self.certificate = certificate
        self.receipt = receipt
    }

    public var encoded: [UInt8] {
        var w = ByteWriter(capacity: 1024)
        w.u8(CodecLimits.version)
        block.encode(into: &w)
        if let certificate { w.u8(1); certificate.encode(into: &w) } else { w.u8(0) }
        receipt.encode(into: &w)
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> StoredBlock {
        guard bytes.count <= CodecLimits.maxBlockBytes + (1 << 20) else {
            throw DecodeError(field: "storedBlock", reason: "\(bytes.count) bytes exceeds the limit")
        }
        var r = ByteReader(bytes)
        try r.version("storedBlock.version")
        let block = try Block.decode(from: &r)
        let certificate: CommitCertificate? = try r.bool("storedBlock.hasCertificate") ? try CommitCertificate.decode(from: &r) : nil
        let receipt = try Receipt.decode(from: &r)
        try r.expectEnd("storedBlock")
        return StoredBlock(block: block, certificate: certificate, receipt: receipt)
    }

    /// Reads only what chain verification needs.
    static func header(_ bytes: [UInt8]) throws(DecodeError) -> BlockHeader {
        var r = ByteReader(bytes)
        try r.version("storedBlock.version")
        return try BlockHeader.decode(from: &r)
    }
}

/// A ledger directory: genesis-bound chain state, the block store (`blocks/`)
/// and snapshots (`snapshots/`, every `checkpointInterval` blocks, two kept).
/// Opening loads the newest usable snapshot and replays only the blocks after it.
public final class LedgerNode {
    public let directory: String
    public let genesis: Genesis
    public private(set) var chain: LedgerChain
    let store: BlockStore
    /// Height of the snapshot the open started from (0: genesis).
    public let restoredFromHeight: UInt64
    public let replayedBlocks: Int
    var snapshotDirectory: String { directory + "/snapshots" }

    public init(directory: String, genesis: Genesis, useSnapshots: Bool = true) throws(StoreError) {
        self.directory = directory
        self.genesis = genesis
        let store = try BlockStore(directory: directory + "/blocks")
        self.store = store
        try FileIO.makeDirectory(directory + "/snapshots")

        // The chain must link from genesis through every stored block.
        var previous = genesis.hash
        var hashes: [SHA256Digest] = []
        hashes.reserveCapacity(store.count)
        for position in 0..<store.count {
            let bytes = try store.read(position, prefix: 1 + BlockHeader.encodedBytes)
            let header: BlockHeader
            do { header = try StoredBlock.header(bytes) } catch {
                throw StoreError(path: directory, reason: "block \(position + 1): \(error)")
            }
            guard header.height == UInt64(position + 1), header.previousHash == previous else {
                throw StoreError(path: directory, reason: "block \(position + 1): chain broken (height \(header.height), previousHash \(header.previousHash.hex), expected \(previous.hex))")
            }
            previous = header.hash
            hashes.append(previous)
        }

        var chain: LedgerChain?
        var from: UInt64 = 0
        if useSnapshots {
            for (height, path) in try Self.snapshots(in: directory + "/snapshots").reversed() where height <= UInt64(store.count) {
                guard let restored = try? Self.loadSnapshot(path, authority: genesis.authority),
                      restored.height == height, height == 0 || restored.headHash == hashes[Int(height) - 1],
                      restored.state.stateTreeBucketBits == genesis.stateTreeBucketBits else { continue }
                chain = restored
                from = height
                break
            }
        }
        if chain == nil {
            do { chain = try LedgerChain(genesis: genesis) } catch {
                throw StoreError(path: directory, reason: "genesis: \(error)")
            }
        }
        guard var current = chain else { throw StoreError(path: directory, reason: "no starting state") }
        for position in Int(from)..<store.count {
            let bytes = try store.read(position)
            let stored: StoredBlock
            do { stored = try StoredBlock.decode(bytes) } catch {
                throw StoreError(path: directory, reason: "block \(position + 1): \(error)")
            }
            let receipt: Receipt
            do { receipt = try current.execute(stored.block) } catch {
                throw StoreError(path: directory, reason: "block \(position + 1): \(error)")
            }
            guard receipt.stateRoot == stored.receipt.stateRoot else {
                throw StoreError(path: directory, reason: "block \(position + 1): replay gives state root \(receipt.stateRoot.hex), stored receipt says \(stored.receipt.stateRoot.hex)")
            }
        }
        self.chain = current
        self.restoredFromHeight = from
        self.replayedBlocks = store.count - Int(from)
    }

    public var height: UInt64 { chain.height }

    /// Crash tests only: see `BlockStore.tornWriteSimulation`.
    public func simulateTornWrites(chunkBytes: Int, pauseMicroseconds: UInt32) {
        store.tornWriteSimulation = (chunkBytes, pauseMicroseconds)
    }
    /// Bytes of a torn last record cut off when the store opened.
    public var truncatedBytes: Int { store.truncatedBytes }
    public var blockCount: Int { store.count }

    /// Set when a block executed in memory could not be made durable: memory is
    /// then ahead of disk, and only reopening (replay from disk) is safe.
    public private(set) var needsReopen = false

    /// Executes a block, appends it (fsync) and snapshots on checkpoint heights.
    /// A bad block throws before anything changes. Execution is in place — a
    /// trial copy of the state would copy every structure a block touches, the
    /// settled-trade set included, on every block — so if the append then fails,
    /// the node refuses further work until it is reopened.
    @discardableResult
    public func commit(_ block: Block, certificate: CommitCertificate? = nil) throws(StoreError) -> Receipt {
        guard !needsReopen else { throw StoreError(path: directory, reason: "an earlier append failed; reopen the ledger") }
        let receipt: Receipt
        do { receipt = try chain.execute(block) } catch {
            throw StoreError(path: directory, reason: "block \(block.header.height): \(error)")
        }
        do {
            try store.append(StoredBlock(block: block, certificate: certificate, receipt: receipt).encoded)
        } catch {
            needsReopen = true
            throw error
        }
        if chain.height % genesis.checkpointInterval == 0 { try writeSnapshot() }
        return receipt
    }

    public func read(height: UInt64) throws(StoreError) -> StoredBlock {
        let bytes = try store.read(Int(height) - 1)
        do { return try StoredBlock.decode(bytes) } catch {
            throw StoreError(path: directory, reason: "block \(height): \(error)")
        }
    }

    public func writeSnapshot() throws(StoreError) {
        let payload = chain.snapshot()
        var w = ByteWriter(capacity: payload.count + 16)
        w.raw(Array("CLSNAP01".utf8)); w.u32(CRC32C.checksum(payload)); w.u64(UInt64(payload.count)); w.raw(payload)
        let name = "snapshot-" + FileIO.padded(chain.height, width: 20) + ".snap"
        try FileIO.writeAtomically(snapshotDirectory + "/" + name, directory: snapshotDirectory, w.bytes)
        let all = try Self.snapshots(in: snapshotDirectory)
        for (_, path) in all.dropLast(2) { FileIO.remove(path) }
    }

    /// For readers beside a running node (the mirror): the newest snapshot of the
    /// ledger `directory` at or below `height` that decodes, verifies its state
    /// root and whose head is `headHash(itsHeight)`; nil when there is none.
    /// Reads only; a snapshot being replaced meanwhile is skipped like a corrupt one.
    public static func newestSnapshot(in directory: String, genesis: Genesis, atOrBelow height: UInt64,
                                      headHash: (UInt64) -> SHA256Digest?) -> LedgerChain? {
        guard let all = try? snapshots(in: directory + "/snapshots") else { return nil }
        for (at, path) in all.reversed() where at <= height && at > 0 {
            guard let restored = try? loadSnapshot(path, authority: genesis.authority), restored.height == at,
                  restored.state.stateTreeBucketBits == genesis.stateTreeBucketBits,
                  let expected = headHash(at), restored.headHash == expected else { continue }
            return restored
        }
        return nil
    }

    static func snapshots(in directory: String) throws(StoreError) -> [(UInt64, String)] {
        try FileIO.list(directory).compactMap { name -> (UInt64, String)? in
            guard name.hasPrefix("snapshot-"), name.hasSuffix(".snap"),
                  let height = UInt64(name.dropFirst(9).dropLast(5)) else { return nil }
            return (height, directory + "/" + name)
        }.sorted { $0.0 < $1.0 }
    }

    static func loadSnapshot(_ path: String, authority: Authority) throws -> LedgerChain {
        let bytes = try FileIO.readAll(path)
        var r = ByteReader(bytes)
        guard try r.raw(8, "snapshot.magic") == Array("CLSNAP01".utf8) else {
            throw DecodeError(field: "snapshot.magic", reason: "bad magic")
        }
        let crc = try r.u32("snapshot.crc")
        let length = try r.u64("snapshot.length")
        guard length == UInt64(r.remaining) else { throw DecodeError(field: "snapshot.length", reason: "\(length) but \(r.remaining) bytes") }
        let payload = try r.raw(Int(length), "snapshot.payload")
        guard CRC32C.checksum(payload) == crc else { throw DecodeError(field: "snapshot.crc", reason: "mismatch") }
        return try LedgerChain.restore(snapshot: payload, authority: authority)
    }
}
