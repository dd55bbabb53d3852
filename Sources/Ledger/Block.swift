import Cryptography

/// The header PBFT orders. `stateRoot` is the root after the *previous* block:
/// the primary proposes before anyone executes, so a block certifies the state
/// its predecessor produced (as Tendermint's app hash does).
public struct BlockHeader: Equatable, Sendable {
    public var height: UInt64
    public var previousHash: SHA256Digest
    public var view: UInt64
    public var sequence: UInt64
    /// The primary's clock, carried in; the only time the ledger ever sees.
    public var timestamp: Timestamp
    public var transactionsRoot: SHA256Digest
    public var stateRoot: SHA256Digest

    public init(height: UInt64, previousHash: SHA256Digest, view: UInt64, sequence: UInt64, timestamp: Timestamp,
                transactionsRoot: SHA256Digest, stateRoot: SHA256Digest) {
        self.height = height
        self.previousHash = previousHash
        self.view = view
        self.sequence = sequence
        self.timestamp = timestamp
        self.transactionsRoot = transactionsRoot
        self.stateRoot = stateRoot
    }

    static let encodedBytes = 1 + 8 + 32 + 8 + 8 + 8 + 32 + 32

    public func encode(into w: inout ByteWriter) {
        w.u8(CodecLimits.version)
        w.u64(height); w.digest(previousHash); w.u64(view); w.u64(sequence); w.i64(timestamp)
        w.digest(transactionsRoot); w.digest(stateRoot)
    }

    public static func decode(from r: inout ByteReader) throws(DecodeError) -> BlockHeader {
        try r.version("header.version")
        return BlockHeader(height: try r.u64("header.height"), previousHash: try r.digest("header.previousHash"),
                           view: try r.u64("header.view"), sequence: try r.u64("header.sequence"),
                           timestamp: try r.i64("header.timestamp"), transactionsRoot: try r.digest("header.transactionsRoot"),
                           stateRoot: try r.digest("header.stateRoot"))
    }

    /// SHA-256 of the canonical header encoding.
    public var hash: SHA256Digest {
        var w = ByteWriter(capacity: Self.encodedBytes)
        encode(into: &w)
        return SHA256.hash(w.bytes)
    }
}

public struct Block: Equatable, Sendable {
    public var header: BlockHeader
    public var transactions: [SignedTransaction]

    public init(header: BlockHeader, transactions: [SignedTransaction]) {
        self.header = header
        self.transactions = transactions
    }

    public var hash: SHA256Digest { header.hash }

    public func encode(into w: inout ByteWriter) {
        header.encode(into: &w)
        w.count(transactions.count)
        for tx in transactions { tx.encode(into: &w) }
    }

    public var encoded: [UInt8] {
        var w = ByteWriter(capacity: 256)
        encode(into: &w)
        return w.bytes
    }

    public static func decode(from r: inout ByteReader) throws(DecodeError) -> Block {
        let header = try BlockHeader.decode(from: &r)
        let count = try r.count("block.transactions", max: CodecLimits.maxTransactionsPerBlock,
                                minimumElementBytes: SignedTransaction.minimumEncodedBytes)
        var transactions: [SignedTransaction] = []
        transactions.reserveCapacity(count)
        for _ in 0..<count { transactions.append(try SignedTransaction.decode(from: &r)) }
        return Block(header: header, transactions: transactions)
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> Block {
        guard bytes.count <= CodecLimits.maxBlockBytes else {
            throw DecodeError(field: "block", reason: "\(bytes.count) bytes exceeds the limit \(CodecLimits.maxBlockBytes)")
        }
        var r = ByteReader(bytes)
        let block = try decode(from: &r)
        try r.expectEnd("block")
        return block
    }

    /// Merkle root of the transactions, RFC 6962 shape: leaf = H(0x00 ‖ tx), node =
    /// H(0x01 ‖ left ‖ right), split at the largest power of two below n — no
    /// duplicated last leaf, so two different lists never share a root.
    public static func transactionsRoot(_ transactions: [SignedTransaction]) -> SHA256Digest {
        let leaves = transactions.map { tx -> SHA256Digest in
            var w = ByteWriter(capacity: 256)
            w.u8(0)
            tx.encode(into: &w)
            return SHA256.hash(w.bytes)
        }
        return merkleRoot(leaves[...])
    }

    static func merkleRoot(_ leaves: ArraySlice<SHA256Digest>) -> SHA256Digest {
        switch leaves.count {
        case 0: return SHA256.hash([])
        case 1: return leaves[leaves.startIndex]
        default:
            var split = 1
            while split * 2 < leaves.count { split *= 2 }
            let left = merkleRoot(leaves[leaves.startIndex..<(leaves.startIndex + split)])
            let right = merkleRoot(leaves[(leaves.startIndex + split)...])
            var w = ByteWriter(capacity: 65)
            w.u8(1); w.digest(left); w.digest(right)
            return SHA256.hash(w.bytes)
        }
    }
}

/// 2f+1 member signatures over (view, sequence, block hash). Only the data and
/// its encoding live here; checking it against genesis belongs to the consortium.
public struct CommitCertificate: Equatable, Sendable {
    public struct Vote: Equatable, Sendable {
        public var member: UInt32
        public var signature: [UInt8]
        public init(member: UInt32, signature: [UInt8]) {
            self.member = member
            self.signature = signature
        }
    }

    public var view: UInt64
    public var sequence: UInt64
    public var blockHash: SHA256Digest
    public var votes: [Vote]

    public init(view: UInt64, sequence: UInt64, blockHash: SHA256Digest, votes: [Vote]) {
        self.view = view
        self.sequence = sequence
        self.blockHash = blockHash
        self.votes = votes
    }

    /// The bytes each member signs.
    public static func signingBytes(view: UInt64, sequence: UInt64, blockHash: SHA256Digest) -> [UInt8] {
        var w = ByteWriter(capacity: 80)
        w.raw(Array("clearledger/commit".utf8)); w.u8(CodecLimits.version)
        w.u64(view); w.u64(sequence); w.digest(blockHash)
        return w.bytes
    }

    public func encode(into w: inout ByteWriter) {
        w.u64(view); w.u64(sequence); w.digest(blockHash)
        w.count(votes.count)
        for vote in votes {
            w.u32(vote.member)
            w.raw(vote.signature.count == 64 ? vote.signature : [UInt8](repeating: 0, count: 64))
        }
    }

    public static func decode(from r: inout ByteReader) throws(DecodeError) -> CommitCertificate {
        let view = try r.u64("certificate.view")
        let sequence = try r.u64("certificate.sequence")
        let hash = try r.digest("certificate.blockHash")
        let count = try r.count("certificate.votes", max: CodecLimits.maxCertificateSignatures, minimumElementBytes: 68)
        var votes: [Vote] = []
        votes.reserveCapacity(count)
        for _ in 0..<count {
            votes.append(Vote(member: try r.u32("certificate.vote.member"), signature: try r.raw(64, "certificate.vote.signature")))
        }
        return CommitCertificate(view: view, sequence: sequence, blockHash: hash, votes: votes)
    }
}

/// The outcome of executing one block: each transaction's status and the state
/// root after it (which the next block's header certifies).
public struct Receipt: Equatable, Sendable {
    public var height: UInt64
    public var blockHash: SHA256Digest
    public var statuses: [TransactionStatus]
    public var stateRoot: SHA256Digest

    public init(height: UInt64, blockHash: SHA256Digest, statuses: [TransactionStatus], stateRoot: SHA256Digest) {
        self.height = height
        self.blockHash = blockHash
        self.statuses = statuses
        self.stateRoot = stateRoot
    }

    public func encode(into w: inout ByteWriter) {
        w.u8(CodecLimits.version)
        w.u64(height); w.digest(blockHash)
        w.count(statuses.count)
        for status in statuses {
            switch status {
            case .applied:
                w.u8(0)
            case let .rejected(failure):
                w.u8(1); failure.encode(into: &w)
            case let .settled(count, failed):
                w.u8(2); w.count(count); w.count(failed.count)
                for f in failed { w.u32(f.index); w.u64(f.tradeID); f.failure.encode(into: &w) }
            }
        }
        w.digest(stateRoot)
    }

    public static func decode(from r: inout ByteReader) throws(DecodeError) -> Receipt {
        try r.version("receipt.version")
        let height = try r.u64("receipt.height")
        let blockHash = try r.digest("receipt.blockHash")
        let count = try r.count("receipt.statuses", max: CodecLimits.maxTransactionsPerBlock, minimumElementBytes: 1)
        var statuses: [TransactionStatus] = []
        statuses.reserveCapacity(count)
        for _ in 0..<count {
            switch try r.u8("receipt.status") {
            case 0: statuses.append(.applied)
            case 1: statuses.append(.rejected(try Failure.decode(from: &r)))
            case 2:
                let settled = Int(try r.u32("receipt.settled"))
                guard settled <= CodecLimits.maxTradesPerBatch else {
                    throw DecodeError(field: "receipt.settled", reason: "count \(settled) exceeds the limit \(CodecLimits.maxTradesPerBatch)")
                }
                let failedCount = try r.count("receipt.failed", max: CodecLimits.maxTradesPerBatch, minimumElementBytes: 18)
                var failed: [TradeFailure] = []
                failed.reserveCapacity(failedCount)
                for _ in 0..<failedCount {
                    failed.append(TradeFailure(index: try r.u32("receipt.failed.index"), tradeID: try r.u64("receipt.failed.tradeID"),
                                               failure: try Failure.decode(from: &r)))
                }
                statuses.append(.settled(count: settled, failed: failed))
            case let tag:
                throw DecodeError(field: "receipt.status", reason: "unknown tag \(tag)")
            }
        }
        let root = try r.digest("receipt.stateRoot")
        return Receipt(height: height, blockHash: blockHash, statuses: statuses, stateRoot: root)
    }
}
