import Cryptography

/// VIEW-CHANGE(v+1, C, P, i) (Castro & Liskov, TOCS 2002 §4.4): what replica i
/// knows that the next primary must not lose. `checkpoint` is its stable
/// checkpoint with the 2f+1 proof (C); `prepared` holds, for each sequence above
/// it, the prepared certificate of the highest view (P), ordered by sequence.
/// The batches of those certificates travel beside the signature (like a
/// PRE-PREPARE's batch), since a certificate names a batch only by digest.
public struct ViewChange: SignedBody {
    public static let tag = MessageTag.viewChange
    public var newView: UInt64
    public var checkpoint: CheckpointProof
    public var prepared: [PreparedCertificate]
    public var replica: ReplicaID
    public init(newView: UInt64, checkpoint: CheckpointProof, prepared: [PreparedCertificate], replica: ReplicaID) {
        self.newView = newView
        self.checkpoint = checkpoint
        self.prepared = prepared
        self.replica = replica
    }
}

/// NEW-VIEW(v, V, O) from the primary of v: V is the set of signed VIEW-CHANGEs it
/// used (2f+1 or more, one per replica, ordered by replica), O the pre-prepares for
/// view v that every backup recomputes from V (ordered by sequence). The batches of
/// O travel beside the signature, one per pre-prepare.
public struct NewView: SignedBody {
    public static let tag = MessageTag.newView
    public var view: UInt64
    public var viewChanges: [Signed<ViewChange>]
    public var prePrepares: [Signed<PrePrepare>]
    public var replica: ReplicaID
    public init(view: UInt64, viewChanges: [Signed<ViewChange>], prePrepares: [Signed<PrePrepare>], replica: ReplicaID) {
        self.view = view
        self.viewChanges = viewChanges
        self.prePrepares = prePrepares
        self.replica = replica
    }
}

// MARK: Canonical encodings

/// Smallest encodings, used to refuse a count the remaining bytes cannot hold
/// before anything is reserved for it.
enum ViewChangeSizes {
    static let signedHeader = 8 + 8 + 32 + 2 + MessageCodec.signatureSize
    static let checkpointVote = 8 + 32 + 2 + MessageCodec.signatureSize
    static let certificate = signedHeader + 2
    static let proof = 8 + 32 + 2
    static let viewChange = 8 + proof + 4 + 2 + MessageCodec.signatureSize
}

extension ByteReader {
    /// A u32 count of entries of at least `entrySize` bytes, checked against the
    /// limit and against what is left, so a hostile count never allocates.
    mutating func boundedCount(_ field: String, entrySize: Int, limit: Int) throws(DecodingError) -> Int {
        let count = Int(try u32(field))
        guard count <= limit else { throw .tooLarge(field: field, limit: limit, actual: count) }
        guard count <= remaining / max(1, entrySize) else {
            throw .truncated(field: field, needed: count * entrySize, remaining: remaining)
        }
        return count
    }
}

extension ViewChange {
    public func encodeBody(into writer: inout ByteWriter) {
        writer.u64(newView)
        PersistRecordCodec.encode(checkpoint, into: &writer)
        writer.u32(UInt32(truncatingIfNeeded: prepared.count))
        for certificate in prepared { PersistRecordCodec.encode(certificate, into: &writer) }
        writer.u16(replica.rawValue)
    }

    /// Structural bounds only (counts against the bytes present); `MessageCodec`
    /// decodes with the configuration's limits.
    public static func decodeBody(from reader: inout ByteReader) throws(DecodingError) -> ViewChange {
        try decodeBody(from: &reader, limits: .structural)
    }

    static func decodeBody(from reader: inout ByteReader, limits: CodecLimits) throws(DecodingError) -> ViewChange {
        let newView = try reader.u64("view-change.newView")
        let checkpoint = try PersistRecordCodec.decodeCheckpointProof(&reader)
        guard checkpoint.messages.count <= limits.maxMembers else {
            throw .tooLarge(field: "view-change.checkpoint.messages", limit: limits.maxMembers, actual: checkpoint.messages.count)
        }
        let count = try reader.boundedCount(
            "view-change.prepared", entrySize: ViewChangeSizes.certificate, limit: limits.maxLogWindow)
        var prepared: [PreparedCertificate] = []
        prepared.reserveCapacity(count)
        for _ in 0..<count {
            let certificate = try PersistRecordCodec.decodePreparedCertificate(&reader)
            guard certificate.prepares.count <= limits.maxMembers else {
                throw .tooLarge(field: "view-change.prepared.prepares", limit: limits.maxMembers, actual: certificate.prepares.count)
            }
            prepared.append(certificate)
        }
        let replica = ReplicaID(try reader.u16("view-change.replica"))
        return ViewChange(newView: newView, checkpoint: checkpoint, prepared: prepared, replica: replica)
    }
}

extension NewView {
    public func encodeBody(into writer: inout ByteWriter) {
        writer.u64(view)
        writer.u32(UInt32(truncatingIfNeeded: viewChanges.count))
        for viewChange in viewChanges { PersistRecordCodec.encodeSignedBody(viewChange, into: &writer) }
        writer.u32(UInt32(truncatingIfNeeded: prePrepares.count))
        for prePrepare in prePrepares { PersistRecordCodec.encodeSignedBody(prePrepare, into: &writer) }
        writer.u16(replica.rawValue)
    }

    public static func decodeBody(from reader: inout ByteReader) throws(DecodingError) -> NewView {
        try decodeBody(from: &reader, limits: .structural)
    }

    static func decodeBody(from reader: inout ByteReader, limits: CodecLimits) throws(DecodingError) -> NewView {
        let view = try reader.u64("new-view.view")
        let changes = try reader.boundedCount(
            "new-view.viewChanges", entrySize: ViewChangeSizes.viewChange, limit: limits.maxMembers)
        var viewChanges: [Signed<ViewChange>] = []
        viewChanges.reserveCapacity(changes)
        for _ in 0..<changes {
            let body = try ViewChange.decodeBody(from: &reader, limits: limits)
            viewChanges.append(Signed(body: body, signature: try reader.raw(MessageCodec.signatureSize, "new-view.viewChanges.signature")))
        }
        let count = try reader.boundedCount(
            "new-view.prePrepares", entrySize: ViewChangeSizes.signedHeader, limit: limits.maxLogWindow)
        var prePrepares: [Signed<PrePrepare>] = []
        prePrepares.reserveCapacity(count)
        for _ in 0..<count { prePrepares.append(try MessageCodec.decodeSigned(&reader)) }
        let replica = ReplicaID(try reader.u16("new-view.replica"))
        return NewView(view: view, viewChanges: viewChanges, prePrepares: prePrepares, replica: replica)
    }
}

extension MessageCodec {
    /// The batches beside a VIEW-CHANGE or NEW-VIEW: a count (at most `limit`, the
    /// number of certificates or pre-prepares they belong to) and the batches.
    static func encodeBatches(_ batches: [Batch], into writer: inout ByteWriter) {
        writer.u32(UInt32(truncatingIfNeeded: batches.count))
        for batch in batches { encode(batch, into: &writer) }
    }

    static func decodeBatches(_ reader: inout ByteReader, limit: Int, limits: CodecLimits) throws(DecodingError) -> [Batch] {
        // An empty batch takes 12 bytes (timestamp and count).
        let count = try reader.boundedCount("batches", entrySize: 12, limit: limit)
        var batches: [Batch] = []
        batches.reserveCapacity(count)
        for _ in 0..<count { batches.append(try decodeBatch(&reader, limits: limits)) }
        return batches
    }
}
