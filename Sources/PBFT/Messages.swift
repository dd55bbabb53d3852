import Cryptography

/// Identifies one client request for exactly-once execution.
public struct RequestKey: Hashable, Sendable, CustomStringConvertible {
    public let client: ClientID
    public let requestID: UInt64
    public init(client: ClientID, requestID: UInt64) {
        self.client = client
        self.requestID = requestID
    }
    public var description: String { "\(client) request \(requestID)" }
}

/// A client's signed request. Request ids are per client and increasing: a replica
/// executes a request only if its id is above the client's last executed id, which
/// is how a replayed request executes at most once.
public struct ClientRequest: Hashable, Sendable {
    public var client: ClientID
    public var requestID: UInt64
    public var kind: ClientKind
    public var payload: [UInt8]
    /// Ed25519 by the client's key over `signingBytes`.
    public var signature: [UInt8]

    public init(client: ClientID, requestID: UInt64, kind: ClientKind, payload: [UInt8], signature: [UInt8] = []) {
        self.client = client
        self.requestID = requestID
        self.kind = kind
        self.payload = payload
        self.signature = signature
    }

    public var key: RequestKey { RequestKey(client: client, requestID: requestID) }

    /// Bytes this request occupies in a batch; what batch size limits count.
    public var encodedSize: Int { 4 + 8 + 1 + 4 + payload.count + Ed25519PublicKey.signatureByteCount }
}

/// What the primary orders: the requests and the primary's timestamp. The timestamp
/// is inside the batch, hence inside the digest, so a primary cannot give backups
/// the same digest with different timestamps and split their ledgers.
public struct Batch: Hashable, Sendable {
    public var timestamp: UInt64
    public var requests: [ClientRequest]
    public init(timestamp: UInt64, requests: [ClientRequest]) {
        self.timestamp = timestamp
        self.requests = requests
    }

    /// SHA-256 of the canonical encoding; what every vote names.
    public var digest: SHA256Digest { SHA256.hash(MessageCodec.encode(self)) }
}

/// The body of a replica-signed message: its fields, its sender, and the tag that
/// separates its signature domain from every other message type.
public protocol SignedBody: Hashable, Sendable {
    static var tag: MessageTag { get }
    var replica: ReplicaID { get }
    func encodeBody(into writer: inout ByteWriter)
    static func decodeBody(from reader: inout ByteReader) throws(DecodingError) -> Self
}

/// PRE-PREPARE(v, n, d) signed by the primary. The batch travels beside it, not
/// inside the signature, so a prepared certificate stays small for view change.
public struct PrePrepare: SignedBody {
    public static let tag = MessageTag.prePrepare
    public var view: UInt64
    public var sequence: UInt64
    public var digest: SHA256Digest
    public var replica: ReplicaID
    public init(view: UInt64, sequence: UInt64, digest: SHA256Digest, replica: ReplicaID) {
        self.view = view
        self.sequence = sequence
        self.digest = digest
        self.replica = replica
    }
}

public struct Prepare: SignedBody {
    public static let tag = MessageTag.prepare
    public var view: UInt64
    public var sequence: UInt64
    public var digest: SHA256Digest
    public var replica: ReplicaID
    public init(view: UInt64, sequence: UInt64, digest: SHA256Digest, replica: ReplicaID) {
        self.view = view
        self.sequence = sequence
        self.digest = digest
        self.replica = replica
    }
}

public struct Commit: SignedBody {
    public static let tag = MessageTag.commit
    public var view: UInt64
    public var sequence: UInt64
    public var digest: SHA256Digest
    public var replica: ReplicaID
    public init(view: UInt64, sequence: UInt64, digest: SHA256Digest, replica: ReplicaID) {
        self.view = view
        self.sequence = sequence
        self.digest = digest
        self.replica = replica
    }
}

/// CHECKPOINT(n, state root): the root reported by the shell after executing
/// sequence n, never a value derived from what was proposed.
public struct Checkpoint: SignedBody {
    public static let tag = MessageTag.checkpoint
    public var sequence: UInt64
    public var stateRoot: SHA256Digest
    public var replica: ReplicaID
    public init(sequence: UInt64, stateRoot: SHA256Digest, replica: ReplicaID) {
        self.sequence = sequence
        self.stateRoot = stateRoot
        self.replica = replica
    }
}

/// Whether the ledger applied the request; a failed request is still ordered and
/// executed (its block records the failure), so both are final answers.
public enum ReplyStatus: UInt8, Sendable {
    case applied = 1
    case failed = 2
}

/// REPLY(v, t, c, i, r), with the sequence number added so that a client learns
/// the block that holds its request.
public struct Reply: SignedBody {
    public static let tag = MessageTag.reply
    public var view: UInt64
    public var sequence: UInt64
    public var client: ClientID
    public var requestID: UInt64
    public var status: ReplyStatus
    public var result: [UInt8]
    public var replica: ReplicaID
    public init(
        view: UInt64, sequence: UInt64, client: ClientID, requestID: UInt64, status: ReplyStatus, result: [UInt8],
        replica: ReplicaID
    ) {
        self.view = view
        self.sequence = sequence
        self.client = client
        self.requestID = requestID
        self.status = status
        self.result = result
        self.replica = replica
    }
}

/// A body with its sender's Ed25519 signature over `MessageCodec.signingBytes(body)`.
public struct Signed<Body: SignedBody>: Hashable, Sendable {
    public var body: Body
    public var signature: [UInt8]
    public init(body: Body, signature: [UInt8]) {
        self.body = body
        self.signature = signature
    }
}

/// Everything that travels between replicas and clients.
public enum Message: Hashable, Sendable {
    case request(ClientRequest)
    case prePrepare(Signed<PrePrepare>, Batch)
    case prepare(Signed<Prepare>)
    case commit(Signed<Commit>)
    case checkpoint(Signed<Checkpoint>)
    case reply(Signed<Reply>)
    /// With the batch of each prepared certificate, in the same order.
    case viewChange(Signed<ViewChange>, [Batch])
    /// With the batch of each pre-prepare of O, in the same order.
    case newView(Signed<NewView>, [Batch])

    /// The replica that claims to have signed it; nil for a client request.
    public var signer: ReplicaID? {
        switch self {
        case .request: return nil
        case let .prePrepare(m, _): return m.body.replica
        case let .prepare(m): return m.body.replica
        case let .commit(m): return m.body.replica
        case let .checkpoint(m): return m.body.replica
        case let .reply(m): return m.body.replica
        case let .viewChange(m, _): return m.body.replica
        case let .newView(m, _): return m.body.replica
        }
    }
}
