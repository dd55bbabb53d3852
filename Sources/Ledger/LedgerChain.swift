import Cryptography

/// Why a block was not executed. Nothing changes when one is thrown.
public enum BlockError: Error, Equatable, Sendable, CustomStringConvertible {
    case wrongHeight(expected: UInt64, actual: UInt64)
    case wrongPreviousHash(expected: SHA256Digest, actual: SHA256Digest)
    case wrongStateRoot(expected: SHA256Digest, actual: SHA256Digest)
    case wrongTransactionsRoot(expected: SHA256Digest, actual: SHA256Digest)
    case tooManyTransactions(Int)
    case malformedTransaction(index: Int, reason: String)

    public var description: String {
        switch self {
        case let .wrongHeight(e, a): return "header.height=\(a): expected \(e)"
        case let .wrongPreviousHash(e, a): return "header.previousHash=\(a.hex): expected \(e.hex)"
        case let .wrongStateRoot(e, a): return "header.stateRoot=\(a.hex): expected \(e.hex)"
        case let .wrongTransactionsRoot(e, a): return "header.transactionsRoot=\(a.hex): expected \(e.hex)"
        case let .tooManyTransactions(n): return "block.transactions=\(n): exceeds the limit \(CodecLimits.maxTransactionsPerBlock)"
        case let .malformedTransaction(index, reason): return "transaction \(index): \(reason)"
        }
    }
}

/// The ledger state plus the head of the hash chain: what a replica executes
/// blocks against. Pure; persistence is `LedgerNode`'s job.
public struct LedgerChain: Sendable {
    public private(set) var state: LedgerState
    public private(set) var height: UInt64
    /// Hash of the last executed block; the genesis hash at height 0.
    public private(set) var headHash: SHA256Digest
    /// State root after the last executed block.
    public private(set) var stateRoot: SHA256Digest

    public init(genesis: Genesis) throws(Failure) {
        var state = try genesis.initialState()
        self.stateRoot = state.stateRoot()
        self.state = state
        self.height = 0
        self.headHash = genesis.hash
    }

    /// Resumes from a snapshot taken after block `height`.
    public init(state: LedgerState, height: UInt64, headHash: SHA256Digest) {
        var state = state
        self.stateRoot = state.stateRoot()
        self.state = state
        self.height = height
        self.headHash = headHash
    }

    /// What the primary proposes next.
    public func makeBlock(view: UInt64 = 0, sequence: UInt64? = nil, timestamp: Timestamp,
                          transactions: [SignedTransaction]) -> Block {
        Block(header: BlockHeader(height: height + 1, previousHash: headHash, view: view, sequence: sequence ?? height + 1,
                                  timestamp: timestamp, transactionsRoot: Block.transactionsRoot(transactions),
                                  stateRoot: stateRoot),
              transactions: transactions)
    }

    /// Checks the header against the chain, then applies every transaction in
    /// order. A bad header throws and changes nothing; a bad transaction is
    /// recorded in the receipt and changes nothing.
    public mutating func execute(_ block: Block) throws(BlockError) -> Receipt {
        try run(block, recording: false).receipt
    }

    /// Executes like `execute` and also returns each transaction's balance
    /// movements (the transfer agent's journal), in order.
    public mutating func executeRecordingMovements(_ block: Block) throws(BlockError) -> (receipt: Receipt, movements: [[Movement]]) {
        try run(block, recording: true)
    }

    private mutating func run(_ block: Block, recording: Bool) throws(BlockError) -> (receipt: Receipt, movements: [[Movement]]) {
        let header = block.header
        guard header.height == height + 1 else { throw .wrongHeight(expected: height + 1, actual: header.height) }
        guard header.previousHash == headHash else { throw .wrongPreviousHash(expected: headHash, actual: header.previousHash) }
        guard header.stateRoot == stateRoot else { throw .wrongStateRoot(expected: stateRoot, actual: header.stateRoot) }
        guard block.transactions.count <= CodecLimits.maxTransactionsPerBlock else {
            throw .tooManyTransactions(block.transactions.count)
        }
        for (index, tx) in block.transactions.enumerated() {
            if let problem = tx.encodingProblem { throw .malformedTransaction(index: index, reason: problem) }
        }
        let root = Block.transactionsRoot(block.transactions)
        guard root == header.transactionsRoot else { throw .wrongTransactionsRoot(expected: root, actual: header.transactionsRoot) }
        var statuses: [TransactionStatus] = []
        statuses.reserveCapacity(block.transactions.count)
        var movements: [[Movement]] = []
        state.recordsMovements = recording
        for tx in block.transactions {
            statuses.append(state.apply(tx, timestamp: header.timestamp))
            if recording { movements.append(state.takeMovements()) }
        }
        state.recordsMovements = false
        let hash = header.hash
        stateRoot = state.stateRoot()
        height = header.height
        headHash = hash
        return (Receipt(height: header.height, blockHash: hash, statuses: statuses, stateRoot: stateRoot), movements)
    }

    /// Snapshot of the chain position and state, canonical bytes.
    public mutating func snapshot() -> [UInt8] {
        var w = ByteWriter(capacity: 1 << 16)
        w.raw(Array("clearledger/snapshot".utf8))
        w.u8(CodecLimits.version)
        w.u64(height); w.digest(headHash); w.digest(stateRoot)
        state.encodeSnapshot(into: &w)
        return w.bytes
    }

    public static func restore(snapshot bytes: [UInt8], authority: Authority) throws(DecodeError) -> LedgerChain {
        var r = ByteReader(bytes)
        let magic = try r.raw(20, "snapshot.magic")
        guard magic == Array("clearledger/snapshot".utf8) else { throw DecodeError(field: "snapshot.magic", reason: "not a snapshot") }
        try r.version("snapshot.version")
        let height = try r.u64("snapshot.height")
        let head = try r.digest("snapshot.headHash")
        let root = try r.digest("snapshot.stateRoot")
        let state = try LedgerState.decodeSnapshot(from: &r, authority: authority)
        try r.expectEnd("snapshot")
        let chain = LedgerChain(state: state, height: height, headHash: head)
        guard chain.stateRoot == root else {
            throw DecodeError(field: "snapshot.stateRoot", reason: "recomputed \(chain.stateRoot.hex), recorded \(root.hex)")
        }
        return chain
    }
}
