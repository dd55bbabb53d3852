import Cryptography

/// One member's signature on COMMIT(view, sequence, digest).
public struct CommitSignature: Hashable, Sendable {
    public var replica: ReplicaID
    public var signature: [UInt8]
    public init(replica: ReplicaID, signature: [UInt8]) {
        self.replica = replica
        self.signature = signature
    }
}

/// Why a commit certificate does not prove finality.
public enum CertificateError: Error, Hashable, Sendable, CustomStringConvertible {
    case tooFewSignatures(have: Int, need: Int)
    case duplicateSigner(ReplicaID)
    case unknownSigner(ReplicaID)
    case invalidSignature(ReplicaID)

    public var description: String {
        switch self {
        case let .tooFewSignatures(have, need): return "commit certificate has \(have) distinct signers, needs \(need)"
        case let .duplicateSigner(replica): return "commit certificate names \(replica) twice"
        case let .unknownSigner(replica): return "commit certificate signer \(replica) is not a member"
        case let .invalidSignature(replica): return "commit certificate signature of \(replica) does not verify"
        }
    }
}

/// 2f+1 member signatures over COMMIT(view, sequence, digest): what makes a block
/// final to anyone holding the genesis member keys, without asking a replica. The
/// block store keeps it beside the block. Stored compactly: the three fields once,
/// then (replica, signature) pairs.
public struct CommitCertificate: Hashable, Sendable {
    public var view: UInt64
    public var sequence: UInt64
    public var digest: SHA256Digest
    public var signatures: [CommitSignature]

    public init(view: UInt64, sequence: UInt64, digest: SHA256Digest, signatures: [CommitSignature]) {
        self.view = view
        self.sequence = sequence
        self.digest = digest
        self.signatures = signatures
    }

    /// The signed commits the certificate stands for (the body each signature covers).
    public var commits: [Signed<Commit>] {
        signatures.map {
            Signed(body: Commit(view: view, sequence: sequence, digest: digest, replica: $0.replica), signature: $0.signature)
        }
    }

    /// Checks every signature: 2f+1 distinct members, each signature valid for
    /// exactly this (view, sequence, digest). A duplicate or unknown signer fails the
    /// whole certificate rather than being skipped, since an honest replica never
    /// produces one.
    public func verify(
        against configuration: Configuration, verifier: any SignatureVerifier = Ed25519SignatureVerifier()
    ) throws(CertificateError) {
        var seen = Set<ReplicaID>()
        for entry in signatures {
            guard configuration.key(of: entry.replica) != nil else { throw .unknownSigner(entry.replica) }
            guard seen.insert(entry.replica).inserted else { throw .duplicateSigner(entry.replica) }
        }
        guard seen.count >= configuration.quorum else {
            throw .tooFewSignatures(have: seen.count, need: configuration.quorum)
        }
        for commit in commits where !verifier.verify(commit, in: configuration) {
            throw .invalidSignature(commit.body.replica)
        }
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 60 + signatures.count * 66)
        writer.u8(MessageCodec.version)
        writer.u8(MessageTag.commitCertificate.rawValue)
        writer.u64(view)
        writer.u64(sequence)
        writer.digest(digest)
        writer.u16(UInt16(truncatingIfNeeded: signatures.count))
        for entry in signatures {
            writer.u16(entry.replica.rawValue)
            writer.raw(MessageCodec.fixedSignature(entry.signature))
        }
        return writer.bytes
    }

    /// Decodes a stored certificate; at most `maxSigners` entries (the member count).
    public static func decode(_ bytes: [UInt8], maxSigners: Int) throws(DecodingError) -> CommitCertificate {
        var reader = ByteReader(bytes)
        let version = try reader.u8("version")
        guard version == MessageCodec.version else { throw .unsupportedVersion(version) }
        let tag = try reader.u8("message type")
        guard tag == MessageTag.commitCertificate.rawValue else { throw .unknownTag(tag) }
        let view = try reader.u64("certificate.view")
        let sequence = try reader.u64("certificate.sequence")
        let digest = try reader.digest("certificate.digest")
        let count = Int(try reader.u16("certificate.count"))
        guard count <= maxSigners else { throw .tooLarge(field: "certificate.count", limit: maxSigners, actual: count) }
        let entrySize = 2 + MessageCodec.signatureSize
        guard count * entrySize <= reader.remaining else {
            throw .truncated(field: "certificate.signatures", needed: count * entrySize, remaining: reader.remaining)
        }
        var signatures: [CommitSignature] = []
        signatures.reserveCapacity(count)
        for index in 0..<count {
            let replica = ReplicaID(try reader.u16("certificate.signatures[\(index)].replica"))
            let signature = try reader.raw(MessageCodec.signatureSize, "certificate.signatures[\(index)].signature")
            signatures.append(CommitSignature(replica: replica, signature: signature))
        }
        try reader.finish()
        return CommitCertificate(view: view, sequence: sequence, digest: digest, signatures: signatures)
    }
}
