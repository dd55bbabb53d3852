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
    /// Before this replica's VIEW-CHANGE for the view goes out: a restarted replica
    /// must never return to a lower view, where it might vote again.
    case movedToView(UInt64)
    /// Before the NEW-VIEW's pre-prepares are persisted and this replica's prepares
    /// for them (or, for the primary, the NEW-VIEW) go out: the view's normal case
    /// has started, so a restart resumes it instead of waiting for another NEW-VIEW.
    case enteredView(UInt64)
}

/// Everything a replica needs to restart without voting two ways: the fold of its
/// persisted records, plus what the block store knows about execution (filled in by
/// the shell through `noteExecuted`, since execution is the ledger's durability).
public struct DurableState: Hashable, Sendable {
    public var view: UInt64
    /// Highest view whose NEW-VIEW this replica accepted (or sent); below `view`
    /// while a view change is in progress.
    public var activeView: UInt64
    /// The genesis state root, not persisted: the shell builds `DurableState` from
    /// the genesis file and replays its records into it. VIEW-CHANGEs may carry the
    /// genesis checkpoint, which has no signatures and is checked against this.
    public var genesisStateRoot: SHA256Digest
    public var stableCheckpoint: CheckpointProof
    /// Keyed by sequence; only the highest view's record per sequence is kept.
    public var prePrepared: [UInt64: AcceptedPrePrepare]
    public var prepared: [UInt64: PreparedCertificate]
    /// The batch of each prepared certificate: a later view's pre-prepare for the
    /// same sequence may replace `prePrepared`, and a VIEW-CHANGE must still carry
    /// the batch of the certificate.
    public var preparedBatches: [UInt64: Batch]
    public var lastExecuted: UInt64
    public var lastExecutedStateRoot: SHA256Digest
    /// Highest executed request id per client: restores exactly-once execution.
    public var executedRequestIDs: [ClientID: UInt64]

    public init(genesisStateRoot: SHA256Digest = .zero) {
        view = 0
        activeView = 0
        self.genesisStateRoot = genesisStateRoot
        preparedBatches = [:]
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
            if let accepted = prePrepared[certificate.sequence], accepted.prePrepare.body.digest == certificate.digest {
                preparedBatches[certificate.sequence] = accepted.batch
            }
            view = max(view, certificate.view)
        case let .stableCheckpoint(proof):
            guard proof.sequence > stableCheckpoint.sequence else { return }
            stableCheckpoint = proof
            prePrepared = prePrepared.filter { $0.key > proof.sequence }
            prepared = prepared.filter { $0.key > proof.sequence }
            preparedBatches = preparedBatches.filter { $0.key > proof.sequence }
        case let .movedToView(newView):
            view = max(view, newView)
        case let .enteredView(newView):
            view = max(view, newView)
            activeView = max(activeView, newView)
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
