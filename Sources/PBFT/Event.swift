import Cryptography

/// Who handed the shell a message: a member over an authenticated replica link, or
/// a client connection. The core still checks that a replica message is signed by
/// the member it came from.
public enum Sender: Hashable, Sendable, CustomStringConvertible {
    case replica(ReplicaID)
    case client

    public var description: String {
        switch self {
        case let .replica(id): return id.description
        case .client: return "a client"
        }
    }
}

public enum TimerKind: Hashable, Sendable {
    /// The primary's wait for more requests before cutting a partial batch.
    case batch
    /// A backup's wait for requests it has seen to execute (view change trigger).
    case request
    /// A replica's wait for the NEW-VIEW of the view it moved to; on expiry it
    /// moves on to the next view (with a doubled timeout).
    case viewChange
}

/// The ledger's answer for one executed request, in batch order.
public struct ExecutionResult: Hashable, Sendable {
    public var status: ReplyStatus
    public var result: [UInt8]
    public init(status: ReplyStatus, result: [UInt8]) {
        self.status = status
        self.result = result
    }
}

/// Everything that can happen to a replica. `now` is the shell's clock (nanoseconds
/// by convention) carried in, so that the core never reads one: the primary stamps
/// batches with the `now` of the event that cut them.
public enum Event: Sendable {
    case clientRequest(ClientRequest, now: UInt64)
    /// A decoded message.
    case message(Message, from: Sender, now: UInt64)
    /// Raw bytes from the wire; decoded here so that malformed input is rejected
    /// with a reason like any other bad message.
    case frame([UInt8], from: Sender, now: UInt64)
    case timerFired(TimerKind, now: UInt64)
    /// The shell executed the block of `sequence` on the ledger; `results` holds one
    /// entry per request in `ExecutableBlock.requests`, in order.
    case executed(sequence: UInt64, stateRoot: SHA256Digest, results: [ExecutionResult], now: UInt64)
    /// Catch-up: a block another member finalized, fetched by the shell with its
    /// commit certificate. Executed without voting once the certificate verifies;
    /// must be the next sequence to execute.
    case certifiedBlock(Batch, CommitCertificate, from: Sender, now: UInt64)
    /// Catch-up: a peer's stable checkpoint proof, adopted once this replica has
    /// executed to that sequence and reached the same state root; moves the
    /// watermarks so that it can vote again.
    case checkpointProof(CheckpointProof, from: Sender, now: UInt64)
}
