import Cryptography

/// A pre-prepare this replica proposed (as primary) or accepted (as backup), with
/// its batch, so that a restarted replica can neither propose nor prepare anything
/// else at the same (view, sequence), and can still execute the batch.
public struct AcceptedPrePrepare: Hashable, Sendable {
    public var prePrepare: Signed<PrePrepare>
    public var batch: Batch
    public init(prePrepare: Signed<PrePrepare>, batch: Batch) {
        self.prePrepare = prePrepare
        self.batch = batch
    }
}

/// What the shell must write to stable storage (fsync) before it carries out any
/// send that follows the record in the same action list.
public enum PersistRecord: Hashable, Sendable {
    /// Before the primary's PRE-PREPARE or a backup's PREPARE goes out.
    case prePrepared(AcceptedPrePrepare)
    /// Before this replica's COMMIT goes out; the certificate is also what a
    /// VIEW-CHANGE must carry for this sequence number.
    case prepared(PreparedCertificate)
    /// A checkpoint became stable: the log at or below it can be dropped.
    case stableCheckpoint(CheckpointProof)
}

/// Everything a replica needs to restart without voting two ways: the fold of its
/// persisted records, plus what the block store knows about execution (filled in by
/// the shell through `noteExecuted`, since execution is the ledger's durability).
public struct DurableState: Hashable, Sendable {
    public var view: UInt64
    public var stableCheckpoint: CheckpointProof
    /// Keyed by sequence; only the highest view's record per sequence is kept.
    public var prePrepared: [UInt64: AcceptedPrePrepare]
    public var prepared: [UInt64: PreparedCertificate]
    public var lastExecuted: UInt64
    public var lastExecutedStateRoot: SHA256Digest
    /// Highest executed request id per client: restores exactly-once execution.
    public var executedRequestIDs: [ClientID: UInt64]

    public init(genesisStateRoot: SHA256Digest = .zero) {
        view = 0
        stableCheckpoint = .genesis(stateRoot: genesisStateRoot)
        prePrepared = [:]
        prepared = [:]
        lastExecuted = 0
        lastExecutedStateRoot = genesisStateRoot
        executedRequestIDs = [:]
    }

    public mutating func apply(_ record: PersistRecord) {
        switch record {
        case let .prePrepared(accepted):
            let header = accepted.prePrepare.body
            guard header.sequence > stableCheckpoint.sequence else { return }
            if let existing = prePrepared[header.sequence], existing.prePrepare.body.view > header.view { return }
            prePrepared[header.sequence] = accepted
            view = max(view, header.view)
        case let .prepared(certificate):
            guard certificate.sequence > stableCheckpoint.sequence else { return }
            if let existing = prepared[certificate.sequence], existing.view > certificate.view { return }
            prepared[certificate.sequence] = certificate
            view = max(view, certificate.view)
        case let .stableCheckpoint(proof):
            guard proof.sequence > stableCheckpoint.sequence else { return }
            stableCheckpoint = proof
            prePrepared = prePrepared.filter { $0.key > proof.sequence }
            prepared = prepared.filter { $0.key > proof.sequence }
        }
    }

    /// The shell calls this once the block is durably executed in its store.
    public mutating func noteExecuted(_ block: ExecutableBlock, stateRoot: SHA256Digest) {
        guard block.sequence > lastExecuted else { return }
        lastExecuted = block.sequence
        lastExecutedStateRoot = stateRoot
        for request in block.requests {
            executedRequestIDs[request.client] = max(executedRequestIDs[request.client] ?? 0, request.requestID)
        }
    }
}
