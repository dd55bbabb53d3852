import Cryptography

/// A consortium member's index in the genesis member list. Small and fixed-width so
/// that it encodes into every vote in two bytes.
public struct ReplicaID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }
    public static func < (lhs: ReplicaID, rhs: ReplicaID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "replica \(rawValue)" }
}

/// A client named in the genesis file. Replicas keep one row of request bookkeeping
/// per authorized client, so the id space is closed and the table stays bounded.
public struct ClientID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (lhs: ClientID, rhs: ClientID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "client \(rawValue)" }
}

/// What a client key may sign: admin transactions or exchange settlement batches.
/// Carried in the request and checked against the key's kind, so a leaked exchange
/// key cannot issue shares.
public enum ClientKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case admin = 1
    case exchange = 2
    public var description: String { self == .admin ? "admin" : "exchange" }
}

public struct AuthorizedClient: Sendable {
    public let id: ClientID
    public let kind: ClientKind
    public let publicKey: Ed25519PublicKey
    public init(id: ClientID, kind: ClientKind, publicKey: Ed25519PublicKey) {
        self.id = id
        self.kind = kind
        self.publicKey = publicKey
    }
}

/// When the primary cuts a batch. Defaults: 512 requests or 4 MiB of request bytes
/// (whichever first), else 2 ms after the first pending request. Settlement requests
/// already carry many trades each, so blocks stay large without a long wait.
public struct BatchPolicy: Sendable, Equatable {
    public var maxRequests: Int
    public var maxBytes: Int
    /// In the shell's time unit (nanoseconds by convention); 0 cuts a batch per request.
    public var timeout: UInt64

    public init(maxRequests: Int = 512, maxBytes: Int = 4 << 20, timeout: UInt64 = 2_000_000) {
        self.maxRequests = maxRequests
        self.maxBytes = maxBytes
        self.timeout = timeout
    }
}

public enum ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(field: String, reason: String)
    public var description: String {
        switch self {
        case let .invalid(field, reason): return "\(field): \(reason)"
        }
    }
}

/// The genesis parameters every member must agree on bit for bit: quorum sizes,
/// watermarks and batch limits all feed validity checks, so two members with
/// different configurations would reject each other's messages.
public struct Configuration: Sendable {
    /// Member public keys; a member's id is its index.
    public let members: [Ed25519PublicKey]
    public let f: Int
    /// K: a checkpoint every K executed sequence numbers.
    public let checkpointInterval: UInt64
    /// L: sequence numbers accepted above the stable checkpoint (high watermark h + L).
    public let logWindow: UInt64
    public let batch: BatchPolicy
    /// How long a backup waits for a request it has seen to execute before it
    /// suspects the primary (the hook for view change).
    public let requestTimeout: UInt64
    public let clients: [ClientID: AuthorizedClient]
    /// Requests the primary holds unbatched, and backups track for the request
    /// timer; beyond it new requests are refused (backpressure, bounded memory).
    public let maxPendingRequests: Int
    /// Replies kept per client for retransmission of already executed requests.
    public let repliesCachedPerClient: Int
    /// Largest client request payload and reply result accepted.
    public let maxPayloadBytes: Int
    public let maxResultBytes: Int

    public init(
        members: [Ed25519PublicKey],
        checkpointInterval: UInt64 = 128,
        logWindow: UInt64? = nil,
        batch: BatchPolicy = BatchPolicy(),
        requestTimeout: UInt64 = 500_000_000,
        clients: [AuthorizedClient],
        maxPendingRequests: Int = 8192,
        repliesCachedPerClient: Int = 16,
        maxPayloadBytes: Int = 1 << 20,
        maxResultBytes: Int = 64 << 10
    ) throws(ConfigurationError) {
        let n = members.count
        guard n >= 4, (n - 1) % 3 == 0 else {
            throw .invalid(field: "members", reason: "need n = 3f+1 with f >= 1, got \(n)")
        }
        guard n <= Int(UInt16.max) else { throw .invalid(field: "members", reason: "at most 65535") }
        guard Set(members).count == n else { throw .invalid(field: "members", reason: "duplicate member key") }
        guard checkpointInterval > 0, checkpointInterval <= 1 << 20 else {
            throw .invalid(field: "checkpointInterval", reason: "must be in 1...\(1 << 20), got \(checkpointInterval)")
        }
        let window = logWindow ?? 2 * checkpointInterval
        guard window >= checkpointInterval, window % checkpointInterval == 0, window <= 1 << 22 else {
            throw .invalid(
                field: "logWindow",
                reason: "must be a multiple of checkpointInterval \(checkpointInterval), at most \(1 << 22), got \(window)")
        }
        guard batch.maxRequests >= 1, batch.maxRequests <= 1 << 16 else {
            throw .invalid(field: "batch.maxRequests", reason: "must be in 1...65536, got \(batch.maxRequests)")
        }
        guard batch.maxBytes >= MessageCodec.minimumRequestSize, batch.maxBytes <= 64 << 20 else {
            throw .invalid(
                field: "batch.maxBytes",
                reason: "must be in \(MessageCodec.minimumRequestSize)...\(64 << 20), got \(batch.maxBytes)")
        }
        // The largest request must fit in a batch on its own, or it could be neither
        // proposed nor accepted.
        let largestPayload = batch.maxBytes - MessageCodec.minimumRequestSize
        guard maxPayloadBytes >= 0, maxPayloadBytes <= largestPayload else {
            throw .invalid(
                field: "maxPayloadBytes",
                reason: "must be in 0...\(largestPayload) (batch.maxBytes less a request's framing), got \(maxPayloadBytes)")
        }
        guard maxResultBytes >= 0, maxResultBytes <= 16 << 20 else {
            throw .invalid(field: "maxResultBytes", reason: "must be in 0...\(16 << 20), got \(maxResultBytes)")
        }
        guard maxPendingRequests >= 1 else {
            throw .invalid(field: "maxPendingRequests", reason: "must be positive, got \(maxPendingRequests)")
        }
        guard repliesCachedPerClient >= 1 else {
            throw .invalid(field: "repliesCachedPerClient", reason: "must be positive, got \(repliesCachedPerClient)")
        }
        var table: [ClientID: AuthorizedClient] = [:]
        for client in clients {
            guard table[client.id] == nil else {
                throw .invalid(field: "clients", reason: "duplicate id \(client.id.rawValue)")
            }
            table[client.id] = client
        }
        self.members = members
        self.f = (n - 1) / 3
        self.checkpointInterval = checkpointInterval
        self.logWindow = window
        self.batch = batch
        self.requestTimeout = requestTimeout
        self.clients = table
        self.maxPendingRequests = maxPendingRequests
        self.repliesCachedPerClient = repliesCachedPerClient
        self.maxPayloadBytes = maxPayloadBytes
        self.maxResultBytes = maxResultBytes
    }

    public var n: Int { members.count }
    /// 2f+1: commits for committed-local, checkpoint messages for stability.
    public var quorum: Int { 2 * f + 1 }
    /// 2f: prepares from distinct backups that, with the pre-prepare, make a batch prepared.
    public var prepareQuorum: Int { 2 * f }
    /// f+1: matching replies a client needs, since at most f replicas can lie.
    public var replyQuorum: Int { f + 1 }

    public func primary(of view: UInt64) -> ReplicaID { ReplicaID(UInt16(view % UInt64(n))) }

    public func key(of replica: ReplicaID) -> Ed25519PublicKey? {
        Int(replica.rawValue) < members.count ? members[Int(replica.rawValue)] : nil
    }

    public var replicaIDs: [ReplicaID] { (0..<n).map { ReplicaID(UInt16($0)) } }

    /// Limits the decoder applies, derived so that nothing this configuration would
    /// accept is refused at the codec, and nothing larger is ever allocated.
    public var codecLimits: CodecLimits {
        CodecLimits(
            maxPayloadBytes: maxPayloadBytes, maxResultBytes: maxResultBytes,
            maxBatchRequests: batch.maxRequests, maxBatchBytes: batch.maxBytes, maxMembers: n,
            maxLogWindow: Int(logWindow))
    }
}
