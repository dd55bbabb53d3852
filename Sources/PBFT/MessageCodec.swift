import Cryptography

/// One byte on the wire naming the message type. Also the signature domain: the
/// tag is part of the signed bytes, so a PREPARE signature cannot pass as a COMMIT.
public enum MessageTag: UInt8, Sendable {
    case request = 1
    case prePrepare = 2
    case prepare = 3
    case commit = 4
    case checkpoint = 5
    case reply = 6
    case commitCertificate = 7
    case viewChange = 8
    case newView = 9
}

/// Why bytes are not a message. Each case names the field, so a log line says what a
/// hostile or buggy peer sent.
public enum DecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    case truncated(field: String, needed: Int, remaining: Int)
    case unsupportedVersion(UInt8)
    case unknownTag(UInt8)
    case tooLarge(field: String, limit: Int, actual: Int)
    case invalidValue(field: String, value: UInt64)
    case trailingBytes(count: Int)

    public var description: String {
        switch self {
        case let .truncated(field, needed, remaining):
            return "\(field): needs \(needed) bytes, only \(remaining) left"
        case let .unsupportedVersion(version): return "version \(version) not supported (expected \(MessageCodec.version))"
        case let .unknownTag(tag): return "unknown message type \(tag)"
        case let .tooLarge(field, limit, actual): return "\(field): \(actual) exceeds the limit \(limit)"
        case let .invalidValue(field, value): return "\(field): invalid value \(value)"
        case let .trailingBytes(count): return "\(count) bytes after the end of the message"
        }
    }
}

/// Size limits the decoder enforces before allocating anything.
public struct CodecLimits: Sendable, Equatable {
    public var maxPayloadBytes: Int
    public var maxResultBytes: Int
    public var maxBatchRequests: Int
    public var maxBatchBytes: Int
    /// Signed votes in one proof or certificate, and VIEW-CHANGEs in one NEW-VIEW.
    public var maxMembers: Int
    /// Prepared certificates in one VIEW-CHANGE, pre-prepares in one NEW-VIEW.
    public var maxLogWindow: Int
    public init(
        maxPayloadBytes: Int, maxResultBytes: Int, maxBatchRequests: Int, maxBatchBytes: Int,
        maxMembers: Int = Int(UInt16.max), maxLogWindow: Int = 1 << 22
    ) {
        self.maxPayloadBytes = maxPayloadBytes
        self.maxResultBytes = maxResultBytes
        self.maxBatchRequests = maxBatchRequests
        self.maxBatchBytes = maxBatchBytes
        self.maxMembers = maxMembers
        self.maxLogWindow = maxLogWindow
    }

    /// For the generic `SignedBody.decodeBody` path: only the bytes present bound
    /// what is allocated.
    static let structural = CodecLimits(
        maxPayloadBytes: 16 << 20, maxResultBytes: 16 << 20, maxBatchRequests: 1 << 16, maxBatchBytes: 64 << 20)
}

/// Big-endian, fixed-width integers and length-prefixed byte strings: one encoding
/// per value, so the bytes that are signed and hashed are the same on every member.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]
    public init(capacity: Int = 128) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }
    public mutating func u8(_ value: UInt8) { bytes.append(value) }
    public mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }
    public mutating func u32(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }
    public mutating func u64(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }
    public mutating func digest(_ value: SHA256Digest) {
        u64(value.w0)
        u64(value.w1)
        u64(value.w2)
        u64(value.w3)
    }
    /// Fixed-size field (signatures): no length prefix.
    public mutating func raw(_ value: [UInt8]) { bytes.append(contentsOf: value) }
    public mutating func lengthPrefixed(_ value: [UInt8]) {
        u32(UInt32(truncatingIfNeeded: value.count))
        bytes.append(contentsOf: value)
    }
}

/// Reads what `ByteWriter` writes, checking every length against the bytes that are
/// actually there (and against a limit) before it allocates.
public struct ByteReader: Sendable {
    private let bytes: [UInt8]
    public private(set) var offset: Int
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        offset = 0
    }
    public var remaining: Int { bytes.count - offset }

    private mutating func take(_ count: Int, _ field: String) throws(DecodingError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else { throw .truncated(field: field, needed: count, remaining: remaining) }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }
    private mutating func uint(_ width: Int, _ field: String) throws(DecodingError) -> UInt64 {
        var value: UInt64 = 0
        for byte in try take(width, field) { value = value << 8 | UInt64(byte) }
        return value
    }
    public mutating func u8(_ field: String) throws(DecodingError) -> UInt8 { UInt8(try uint(1, field)) }
    public mutating func u16(_ field: String) throws(DecodingError) -> UInt16 { UInt16(try uint(2, field)) }
    public mutating func u32(_ field: String) throws(DecodingError) -> UInt32 { UInt32(try uint(4, field)) }
    public mutating func u64(_ field: String) throws(DecodingError) -> UInt64 { try uint(8, field) }
    public mutating func digest(_ field: String) throws(DecodingError) -> SHA256Digest {
        guard remaining >= 32 else { throw .truncated(field: field, needed: 32, remaining: remaining) }
        return SHA256Digest(w0: try u64(field), w1: try u64(field), w2: try u64(field), w3: try u64(field))
    }
    public mutating func raw(_ count: Int, _ field: String) throws(DecodingError) -> [UInt8] {
        Array(try take(count, field))
    }
    public mutating func lengthPrefixed(_ field: String, limit: Int) throws(DecodingError) -> [UInt8] {
        let length = try u32(field + " length")
        guard Int(length) <= limit else { throw .tooLarge(field: field, limit: limit, actual: Int(length)) }
        return try raw(Int(length), field)
    }
    public func finish() throws(DecodingError) {
        guard remaining == 0 else { throw .trailingBytes(count: remaining) }
    }
}

/// The canonical, versioned binary form of every message. Frame: version byte, tag
/// byte, fields; replica messages end with their 64-byte signature (a PRE-PREPARE
/// carries its batch after the signature). Nothing else is accepted: no trailing
/// bytes, no unknown tags, no lengths past the limits.
public enum MessageCodec {
    public static let version: UInt8 = 1
    /// Prefix of all signed bytes: keeps member and client keys' PBFT signatures from
    /// ever being valid for something else those keys sign (blocks, files).
    static let domain: [UInt8] = Array("clearledger/pbft".utf8)
    static let signatureSize = Ed25519PublicKey.signatureByteCount
    /// Smallest encoded request: what bounds a batch count by the bytes present.
    static let minimumRequestSize = 4 + 8 + 1 + 4 + signatureSize

    // MARK: Signed bytes

    public static func signingBytes<Body: SignedBody>(_ body: Body) -> [UInt8] {
        var writer = ByteWriter(capacity: 96)
        writer.raw(domain)
        writer.u8(version)
        writer.u8(Body.tag.rawValue)
        body.encodeBody(into: &writer)
        return writer.bytes
    }

    public static func signingBytes(_ request: ClientRequest) -> [UInt8] {
        var writer = ByteWriter(capacity: 40 + request.payload.count)
        writer.raw(domain)
        writer.u8(version)
        writer.u8(MessageTag.request.rawValue)
        writer.u32(request.client.rawValue)
        writer.u64(request.requestID)
        writer.u8(request.kind.rawValue)
        writer.lengthPrefixed(request.payload)
        return writer.bytes
    }

    // MARK: Encoding

    public static func encode(_ message: Message) -> [UInt8] {
        var writer = ByteWriter(capacity: 128)
        writer.u8(version)
        switch message {
        case let .request(request):
            writer.u8(MessageTag.request.rawValue)
            encode(request, into: &writer)
        case let .prePrepare(signed, batch):
            encodeSigned(signed, into: &writer)
            encode(batch, into: &writer)
        case let .prepare(signed): encodeSigned(signed, into: &writer)
        case let .commit(signed): encodeSigned(signed, into: &writer)
        case let .checkpoint(signed): encodeSigned(signed, into: &writer)
        case let .reply(signed): encodeSigned(signed, into: &writer)
        case let .viewChange(signed, batches):
            encodeSigned(signed, into: &writer)
            encodeBatches(batches, into: &writer)
        case let .newView(signed, batches):
            encodeSigned(signed, into: &writer)
            encodeBatches(batches, into: &writer)
        }
        return writer.bytes
    }

    static func encodeSigned<Body: SignedBody>(_ signed: Signed<Body>, into writer: inout ByteWriter) {
        writer.u8(Body.tag.rawValue)
        signed.body.encodeBody(into: &writer)
        writer.raw(fixedSignature(signed.signature))
    }

    /// A signature field is always 64 bytes on the wire; a wrong-sized one in memory
    /// (never produced by a real signer) encodes as zeros and then fails to verify.
    static func fixedSignature(_ signature: [UInt8]) -> [UInt8] {
        signature.count == signatureSize ? signature : [UInt8](repeating: 0, count: signatureSize)
    }

    static func encode(_ request: ClientRequest, into writer: inout ByteWriter) {
        writer.u32(request.client.rawValue)
        writer.u64(request.requestID)
        writer.u8(request.kind.rawValue)
        writer.lengthPrefixed(request.payload)
        writer.raw(fixedSignature(request.signature))
    }

    public static func encode(_ batch: Batch) -> [UInt8] {
        var writer = ByteWriter(capacity: 12 + batch.requests.reduce(0) { $0 + $1.encodedSize })
        encode(batch, into: &writer)
        return writer.bytes
    }

    /// Reads a batch stored by `encode(_: Batch)` (a block store's copy).
    public static func decodeBatch(_ bytes: [UInt8], limits: CodecLimits) throws(DecodingError) -> Batch {
        var reader = ByteReader(bytes)
        let batch = try decodeBatch(&reader, limits: limits)
        try reader.finish()
        return batch
    }

    static func encode(_ batch: Batch, into writer: inout ByteWriter) {
        writer.u64(batch.timestamp)
        writer.u32(UInt32(truncatingIfNeeded: batch.requests.count))
        for request in batch.requests { encode(request, into: &writer) }
    }

    // MARK: Decoding

    public static func decode(_ bytes: [UInt8], limits: CodecLimits) throws(DecodingError) -> Message {
        var reader = ByteReader(bytes)
        let messageVersion = try reader.u8("version")
        guard messageVersion == version else { throw .unsupportedVersion(messageVersion) }
        let rawTag = try reader.u8("message type")
        guard let tag = MessageTag(rawValue: rawTag), tag != .commitCertificate else { throw .unknownTag(rawTag) }
        let message: Message
        switch tag {
        case .request:
            message = .request(try decodeRequest(&reader, limits: limits, field: "request"))
        case .prePrepare:
            let signed: Signed<PrePrepare> = try decodeSigned(&reader)
            message = .prePrepare(signed, try decodeBatch(&reader, limits: limits))
        case .prepare: message = .prepare(try decodeSigned(&reader))
        case .commit: message = .commit(try decodeSigned(&reader))
        case .checkpoint: message = .checkpoint(try decodeSigned(&reader))
        case .reply:
            let body = try decodeReplyBody(&reader, limits: limits)
            message = .reply(Signed(body: body, signature: try reader.raw(signatureSize, "signature")))
        case .viewChange:
            let body = try ViewChange.decodeBody(from: &reader, limits: limits)
            let signed = Signed(body: body, signature: try reader.raw(signatureSize, "signature"))
            message = .viewChange(signed, try decodeBatches(&reader, limit: body.prepared.count, limits: limits))
        case .newView:
            let body = try NewView.decodeBody(from: &reader, limits: limits)
            let signed = Signed(body: body, signature: try reader.raw(signatureSize, "signature"))
            message = .newView(signed, try decodeBatches(&reader, limit: body.prePrepares.count, limits: limits))
        case .commitCertificate: throw .unknownTag(rawTag)
        }
        try reader.finish()
        return message
    }

    static func decodeSigned<Body: SignedBody>(_ reader: inout ByteReader) throws(DecodingError) -> Signed<Body> {
        let body = try Body.decodeBody(from: &reader)
        return Signed(body: body, signature: try reader.raw(signatureSize, "signature"))
    }

    static func decodeRequest(_ reader: inout ByteReader, limits: CodecLimits, field: String) throws(DecodingError)
        -> ClientRequest
    {
        let client = ClientID(try reader.u32(field + ".client"))
        let requestID = try reader.u64(field + ".requestID")
        let rawKind = try reader.u8(field + ".kind")
        guard let kind = ClientKind(rawValue: rawKind) else {
            throw .invalidValue(field: field + ".kind", value: UInt64(rawKind))
        }
        let payload = try reader.lengthPrefixed(field + ".payload", limit: limits.maxPayloadBytes)
        let signature = try reader.raw(signatureSize, field + ".signature")
        return ClientRequest(client: client, requestID: requestID, kind: kind, payload: payload, signature: signature)
    }

    static func decodeBatch(_ reader: inout ByteReader, limits: CodecLimits) throws(DecodingError) -> Batch {
        let timestamp = try reader.u64("batch.timestamp")
        let count = Int(try reader.u32("batch.count"))
        guard count <= limits.maxBatchRequests else {
            throw .tooLarge(field: "batch.count", limit: limits.maxBatchRequests, actual: count)
        }
        // Every request takes at least minimumRequestSize bytes: a count the bytes
        // cannot hold is refused before reserving anything for it.
        guard count <= reader.remaining / minimumRequestSize else {
            throw .truncated(field: "batch.requests", needed: count * minimumRequestSize, remaining: reader.remaining)
        }
        let start = reader.offset
        var requests: [ClientRequest] = []
        requests.reserveCapacity(count)
        for index in 0..<count {
            requests.append(try decodeRequest(&reader, limits: limits, field: "batch.requests[\(index)]"))
            let used = reader.offset - start
            guard used <= limits.maxBatchBytes else {
                throw .tooLarge(field: "batch bytes", limit: limits.maxBatchBytes, actual: used)
            }
        }
        return Batch(timestamp: timestamp, requests: requests)
    }

    static func decodeReplyBody(_ reader: inout ByteReader, limits: CodecLimits) throws(DecodingError) -> Reply {
        let view = try reader.u64("reply.view")
        let sequence = try reader.u64("reply.sequence")
        let client = ClientID(try reader.u32("reply.client"))
        let requestID = try reader.u64("reply.requestID")
        let rawStatus = try reader.u8("reply.status")
        guard let status = ReplyStatus(rawValue: rawStatus) else {
            throw .invalidValue(field: "reply.status", value: UInt64(rawStatus))
        }
        let result = try reader.lengthPrefixed("reply.result", limit: limits.maxResultBytes)
        let replica = ReplicaID(try reader.u16("reply.replica"))
        return Reply(
            view: view, sequence: sequence, client: client, requestID: requestID, status: status, result: result,
            replica: replica)
    }
}

// MARK: Bodies

extension PrePrepare {
    public func encodeBody(into writer: inout ByteWriter) {
        writer.u64(view)
        writer.u64(sequence)
        writer.digest(digest)
        writer.u16(replica.rawValue)
    }
    public static func decodeBody(from reader: inout ByteReader) throws(DecodingError) -> PrePrepare {
        PrePrepare(
            view: try reader.u64("pre-prepare.view"), sequence: try reader.u64("pre-prepare.sequence"),
            digest: try reader.digest("pre-prepare.digest"), replica: ReplicaID(try reader.u16("pre-prepare.replica")))
    }
}

extension Prepare {
    public func encodeBody(into writer: inout ByteWriter) {
        writer.u64(view)
        writer.u64(sequence)
        writer.digest(digest)
        writer.u16(replica.rawValue)
    }
    public static func decodeBody(from reader: inout ByteReader) throws(DecodingError) -> Prepare {
        Prepare(
            view: try reader.u64("prepare.view"), sequence: try reader.u64("prepare.sequence"),
            digest: try reader.digest("prepare.digest"), replica: ReplicaID(try reader.u16("prepare.replica")))
    }
}

extension Commit {
    public func encodeBody(into writer: inout ByteWriter) {
        writer.u64(view)
        writer.u64(sequence)
        writer.digest(digest)
        writer.u16(replica.rawValue)
    }
    public static func decodeBody(from reader: inout ByteReader) throws(DecodingError) -> Commit {
        Commit(
            view: try reader.u64("commit.view"), sequence: try reader.u64("commit.sequence"),
            digest: try reader.digest("commit.digest"), replica: ReplicaID(try reader.u16("commit.replica")))
    }
}

extension Checkpoint {
    public func encodeBody(into writer: inout ByteWriter) {
        writer.u64(sequence)
        writer.digest(stateRoot)
        writer.u16(replica.rawValue)
    }
    public static func decodeBody(from reader: inout ByteReader) throws(DecodingError) -> Checkpoint {
        Checkpoint(
            sequence: try reader.u64("checkpoint.sequence"), stateRoot: try reader.digest("checkpoint.stateRoot"),
            replica: ReplicaID(try reader.u16("checkpoint.replica")))
    }
}

extension Reply {
    public func encodeBody(into writer: inout ByteWriter) {
        writer.u64(view)
        writer.u64(sequence)
        writer.u32(client.rawValue)
        writer.u64(requestID)
        writer.u8(status.rawValue)
        writer.lengthPrefixed(result)
        writer.u16(replica.rawValue)
    }
    /// Only for the generic path; replies are decoded with limits by `MessageCodec`.
    public static func decodeBody(from reader: inout ByteReader) throws(DecodingError) -> Reply {
        try MessageCodec.decodeReplyBody(
            &reader, limits: CodecLimits(maxPayloadBytes: 0, maxResultBytes: 16 << 20, maxBatchRequests: 0, maxBatchBytes: 0))
    }
}
