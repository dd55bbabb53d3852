import Cryptography

/// The on-disk form of `PersistRecord`, in the same canonical style as the wire
/// codec: version, tag, fields, signatures. A crash can leave a torn last record
/// and a disk can rot, so decoding treats the bytes as hostile like a network frame.
/// The same encodings of `PreparedCertificate` and `CheckpointProof` are what
/// VIEW-CHANGE and state transfer will carry.
public enum PersistRecordCodec {
    enum Tag: UInt8 {
        case prePrepared = 0x10
        case prepared = 0x11
        case stableCheckpoint = 0x12
        case movedToView = 0x20
        case enteredView = 0x21
    }

    public static func encode(_ record: PersistRecord) -> [UInt8] {
        var writer = ByteWriter(capacity: 256)
        writer.u8(MessageCodec.version)
        switch record {
        case let .prePrepared(accepted):
            writer.u8(Tag.prePrepared.rawValue)
            encodeSignedBody(accepted.prePrepare, into: &writer)
            MessageCodec.encode(accepted.batch, into: &writer)
        case let .prepared(certificate):
            writer.u8(Tag.prepared.rawValue)
            encode(certificate, into: &writer)
        case let .stableCheckpoint(proof):
            writer.u8(Tag.stableCheckpoint.rawValue)
            encode(proof, into: &writer)
        case let .movedToView(view):
            writer.u8(Tag.movedToView.rawValue)
            writer.u64(view)
        case let .enteredView(view):
            writer.u8(Tag.enteredView.rawValue)
            writer.u64(view)
        }
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8], limits: CodecLimits) throws(DecodingError) -> PersistRecord {
        var reader = ByteReader(bytes)
        let version = try reader.u8("version")
        guard version == MessageCodec.version else { throw .unsupportedVersion(version) }
        let rawTag = try reader.u8("record type")
        guard let tag = Tag(rawValue: rawTag) else { throw .unknownTag(rawTag) }
        let record: PersistRecord
        switch tag {
        case .prePrepared:
            let prePrepare: Signed<PrePrepare> = try MessageCodec.decodeSigned(&reader)
            let batch = try MessageCodec.decodeBatch(&reader, limits: limits)
            record = .prePrepared(AcceptedPrePrepare(prePrepare: prePrepare, batch: batch))
        case .prepared:
            record = .prepared(try decodePreparedCertificate(&reader))
        case .stableCheckpoint:
            record = .stableCheckpoint(try decodeCheckpointProof(&reader))
        case .movedToView:
            record = .movedToView(try reader.u64("view"))
        case .enteredView:
            record = .enteredView(try reader.u64("view"))
        }
        try reader.finish()
        return record
    }

    static func encodeSignedBody<Body: SignedBody>(_ signed: Signed<Body>, into writer: inout ByteWriter) {
        signed.body.encodeBody(into: &writer)
        writer.raw(MessageCodec.fixedSignature(signed.signature))
    }

    static func encode(_ certificate: PreparedCertificate, into writer: inout ByteWriter) {
        encodeSignedBody(certificate.prePrepare, into: &writer)
        writer.u16(UInt16(truncatingIfNeeded: certificate.prepares.count))
        for prepare in certificate.prepares { encodeSignedBody(prepare, into: &writer) }
    }

    static func encode(_ proof: CheckpointProof, into writer: inout ByteWriter) {
        writer.u64(proof.sequence)
        writer.digest(proof.stateRoot)
        writer.u16(UInt16(truncatingIfNeeded: proof.messages.count))
        for message in proof.messages { encodeSignedBody(message, into: &writer) }
    }

    /// Reads a count of fixed-size entries, refusing one the remaining bytes cannot hold.
    static func count(_ reader: inout ByteReader, entrySize: Int, field: String) throws(DecodingError) -> Int {
        let count = Int(try reader.u16(field))
        guard count * entrySize <= reader.remaining else {
            throw .truncated(field: field, needed: count * entrySize, remaining: reader.remaining)
        }
        return count
    }

    static func decodePreparedCertificate(_ reader: inout ByteReader) throws(DecodingError) -> PreparedCertificate {
        let prePrepare: Signed<PrePrepare> = try MessageCodec.decodeSigned(&reader)
        let voteSize = 8 + 8 + 32 + 2 + MessageCodec.signatureSize
        let count = try count(&reader, entrySize: voteSize, field: "prepared.prepares")
        var prepares: [Signed<Prepare>] = []
        prepares.reserveCapacity(count)
        for _ in 0..<count { prepares.append(try MessageCodec.decodeSigned(&reader)) }
        return PreparedCertificate(prePrepare: prePrepare, prepares: prepares)
    }

    static func decodeCheckpointProof(_ reader: inout ByteReader) throws(DecodingError) -> CheckpointProof {
        let sequence = try reader.u64("proof.sequence")
        let root = try reader.digest("proof.stateRoot")
        let voteSize = 8 + 32 + 2 + MessageCodec.signatureSize
        let count = try count(&reader, entrySize: voteSize, field: "proof.messages")
        var messages: [Signed<Checkpoint>] = []
        messages.reserveCapacity(count)
        for _ in 0..<count { messages.append(try MessageCodec.decodeSigned(&reader)) }
        return CheckpointProof(sequence: sequence, stateRoot: root, messages: messages)
    }
}
