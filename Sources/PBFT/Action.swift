import Cryptography

/// A committed block for the shell to execute on the ledger, in sequence order.
public struct ExecutableBlock: Hashable, Sendable {
    public var view: UInt64
    public var sequence: UInt64
    /// The certified batch exactly as ordered (its digest is what was committed).
    public var batch: Batch
    /// The requests to apply: the batch minus requests whose client already had an
    /// equal or higher request id executed (replays). The same on every replica.
    public var requests: [ClientRequest]
    public var certificate: CommitCertificate

    public init(view: UInt64, sequence: UInt64, batch: Batch, requests: [ClientRequest], certificate: CommitCertificate) {
        self.view = view
        self.sequence = sequence
        self.batch = batch
        self.requests = requests
        self.certificate = certificate
    }

    public var timestamp: UInt64 { batch.timestamp }
    public var digest: SHA256Digest { certificate.digest }
}

/// What a replica asks its shell to do.
///
/// Ordering contract: the shell carries out actions in list order, and a `.persist`
/// must be durable before any `.send`, `.broadcast` or `.reply` after it in the same
/// list is handed to the network. That is what keeps a restarted replica from
/// voting two ways. Broadcasts go to every member except this replica: a replica
/// records its own votes itself and must not receive them back.
public enum Action: Hashable, Sendable {
    case send(Message, to: ReplicaID)
    case broadcast(Message)
    case reply(Signed<Reply>, to: ClientID)
    case execute(ExecutableBlock)
    case persist(PersistRecord)
    /// (Re)arms the timer: a running timer of the same kind is replaced.
    case setTimer(TimerKind, after: UInt64)
    case cancelTimer(TimerKind)
    /// Input that was ignored, and why; so that hostile or broken peers are visible.
    case reject(Rejection)
    /// Something the operator (or a later protocol layer) should know about.
    case notice(Notice)
}

public struct Rejection: Hashable, Sendable, CustomStringConvertible {
    public var from: Sender
    /// What was rejected, e.g. "prepare v0 n12".
    public var subject: String
    public var reason: RejectReason
    public var description: String { "rejected \(subject) from \(from): \(reason)" }
}

public enum RejectReason: Hashable, Sendable, CustomStringConvertible {
    case malformed(DecodingError)
    case unknownSender
    case senderMismatch(signer: ReplicaID)
    case fromSelf
    case badSignature
    case wrongView(got: UInt64, current: UInt64)
    case notFromPrimary(primary: ReplicaID)
    case prepareFromPrimary
    case outsideWatermarks(sequence: UInt64, low: UInt64, high: UInt64)
    case digestMismatch
    case conflictingPrePrepare
    case duplicate
    case conflictingVote
    case invalidRequestInBatch(index: Int, reason: String)
    case batchTooLarge(requests: Int, bytes: Int)
    case unknownClient(ClientID)
    case wrongKind(claimed: ClientKind, authorized: ClientKind)
    case payloadTooLarge(Int)
    case staleRequest(lastExecuted: UInt64)
    case alreadyInProgress
    case tooManyPending
    case unexpectedMessage
    case notCheckpointSequence(UInt64)
    case invalidExecutionReport(String)
    case notNextBlock(expected: UInt64)
    case invalidCertificate(CertificateError)
    case invalidProof(ProofError)
    case checkpointNotReached(lastExecuted: UInt64)
    case stateRootMismatch(local: SHA256Digest)
    case invalidViewChange(replica: ReplicaID, reason: String)
    case invalidNewView(String)
    /// Normal-case message while this replica is changing view.
    case viewChangeInProgress

    public var description: String {
        switch self {
        case let .malformed(error): return "malformed: \(error)"
        case .unknownSender: return "signer is not a member"
        case let .senderMismatch(signer): return "signed as \(signer), not by the connection's member"
        case .fromSelf: return "claims to be from this replica"
        case .badSignature: return "signature does not verify"
        case let .wrongView(got, current): return "view \(got), current view is \(current)"
        case let .notFromPrimary(primary): return "only the primary (\(primary)) may send it"
        case .prepareFromPrimary: return "the primary does not prepare"
        case let .outsideWatermarks(sequence, low, high):
            return "sequence \(sequence) outside watermarks (\(low), \(high)]"
        case .digestMismatch: return "digest does not match the batch"
        case .conflictingPrePrepare: return "another pre-prepare was accepted for this view and sequence"
        case .duplicate: return "duplicate"
        case .conflictingVote: return "the sender already voted differently for this view and sequence"
        case let .invalidRequestInBatch(index, reason): return "request \(index) of the batch: \(reason)"
        case let .batchTooLarge(requests, bytes): return "batch of \(requests) requests, \(bytes) bytes exceeds the limits"
        case let .unknownClient(client): return "\(client) is not authorized"
        case let .wrongKind(claimed, authorized):
            return "request of kind \(claimed) signed by a key authorized for \(authorized)"
        case let .payloadTooLarge(size): return "payload of \(size) bytes exceeds the limit"
        case let .staleRequest(lastExecuted):
            return "request id not above last executed \(lastExecuted) and its reply is no longer cached"
        case .alreadyInProgress: return "request already pending or being executed"
        case .tooManyPending: return "too many pending requests"
        case .unexpectedMessage: return "message type not accepted here"
        case let .notCheckpointSequence(sequence): return "sequence \(sequence) is not a checkpoint sequence"
        case let .invalidExecutionReport(reason): return "execution report: \(reason)"
        case let .notNextBlock(expected): return "not the next block to execute (\(expected))"
        case let .invalidCertificate(error): return "invalid certificate: \(error)"
        case let .invalidProof(error): return "invalid checkpoint proof: \(error)"
        case let .checkpointNotReached(lastExecuted): return "not executed that far yet (last executed \(lastExecuted))"
        case let .stateRootMismatch(local): return "state root differs from ours (\(local))"
        case let .invalidViewChange(replica, reason): return "view-change of \(replica): \(reason)"
        case let .invalidNewView(reason): return "new-view: \(reason)"
        case .viewChangeInProgress: return "changing view; normal-case messages wait for NEW-VIEW"
        }
    }
}

public enum Notice: Hashable, Sendable {
    case checkpointStable(sequence: UInt64, stateRoot: SHA256Digest)
    /// 2f+1 members agree on a checkpoint this replica has not executed to: it is
    /// behind and needs state transfer (the proof says what to fetch).
    case behindStableCheckpoint(CheckpointProof, lastExecuted: UInt64)
    /// This replica's state root differs from the one 2f+1 members agree on.
    case stateDivergence(sequence: UInt64, local: SHA256Digest, agreed: SHA256Digest)
    /// Requests seen by this backup did not execute in time: suspect the primary.
    case requestTimerExpired(waiting: Int)
}
