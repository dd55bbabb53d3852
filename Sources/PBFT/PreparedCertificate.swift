import Cryptography

/// Why a prepared certificate or checkpoint proof received from a peer (in a
/// VIEW-CHANGE, or during state transfer) does not prove what it claims.
public enum ProofError: Error, Hashable, Sendable, CustomStringConvertible {
    case tooFewMessages(have: Int, need: Int)
    case duplicateSigner(ReplicaID)
    case unknownSigner(ReplicaID)
    case notFromPrimary(ReplicaID)
    case mismatch(ReplicaID)
    case invalidSignature(ReplicaID)

    public var description: String {
        switch self {
        case let .tooFewMessages(have, need): return "proof has \(have) distinct signers, needs \(need)"
        case let .duplicateSigner(replica): return "proof names \(replica) twice"
        case let .unknownSigner(replica): return "proof signer \(replica) is not a member"
        case let .notFromPrimary(replica): return "pre-prepare signed by \(replica), not the view's primary"
        case let .mismatch(replica): return "message of \(replica) is for another view, sequence or digest"
        case let .invalidSignature(replica): return "signature of \(replica) does not verify"
        }
    }
}

/// A prepared certificate (paper: P): the pre-prepare plus 2f matching prepares from
/// distinct backups. Kept per sequence number because VIEW-CHANGE must carry them.
public struct PreparedCertificate: Hashable, Sendable {
    public var prePrepare: Signed<PrePrepare>
    public var prepares: [Signed<Prepare>]
    public init(prePrepare: Signed<PrePrepare>, prepares: [Signed<Prepare>]) {
        self.prePrepare = prePrepare
        self.prepares = prepares
    }
    public var view: UInt64 { prePrepare.body.view }
    public var sequence: UInt64 { prePrepare.body.sequence }
    public var digest: SHA256Digest { prePrepare.body.digest }

    /// Checks a certificate from another replica: the primary of its view signed the
    /// pre-prepare, and 2f distinct backups signed matching prepares.
    public func verify(
        against configuration: Configuration, verifier: any SignatureVerifier = Ed25519SignatureVerifier()
    ) throws(ProofError) {
        let primary = configuration.primary(of: view)
        guard prePrepare.body.replica == primary else { throw .notFromPrimary(prePrepare.body.replica) }
        var seen = Set<ReplicaID>()
        for prepare in prepares {
            let body = prepare.body
            guard configuration.key(of: body.replica) != nil else { throw .unknownSigner(body.replica) }
            guard body.replica != primary, body.view == view, body.sequence == sequence, body.digest == digest else {
                throw .mismatch(body.replica)
            }
            guard seen.insert(body.replica).inserted else { throw .duplicateSigner(body.replica) }
        }
        guard seen.count >= configuration.prepareQuorum else {
            throw .tooFewMessages(have: seen.count, need: configuration.prepareQuorum)
        }
        guard verifier.verify(prePrepare, in: configuration) else { throw .invalidSignature(primary) }
        for prepare in prepares where !verifier.verify(prepare, in: configuration) {
            throw .invalidSignature(prepare.body.replica)
        }
    }
}

/// Proof that a checkpoint is stable: 2f+1 signed CHECKPOINT messages with the same
/// sequence and state root. Sequence 0 (genesis) needs no messages.
public struct CheckpointProof: Hashable, Sendable {
    public var sequence: UInt64
    public var stateRoot: SHA256Digest
    public var messages: [Signed<Checkpoint>]
    public init(sequence: UInt64, stateRoot: SHA256Digest, messages: [Signed<Checkpoint>]) {
        self.sequence = sequence
        self.stateRoot = stateRoot
        self.messages = messages
    }

    public static func genesis(stateRoot: SHA256Digest) -> CheckpointProof {
        CheckpointProof(sequence: 0, stateRoot: stateRoot, messages: [])
    }

    /// Checks a proof from another replica (VIEW-CHANGE's C, or a state-transfer
    /// target). The genesis proof is accepted only for the genesis root the caller
    /// expects, since it carries no signatures.
    public func verify(
        against configuration: Configuration, genesisStateRoot: SHA256Digest,
        verifier: any SignatureVerifier = Ed25519SignatureVerifier()
    ) throws(ProofError) {
        if sequence == 0 {
            guard stateRoot == genesisStateRoot, messages.isEmpty else { throw .tooFewMessages(have: 0, need: 0) }
            return
        }
        var seen = Set<ReplicaID>()
        for message in messages {
            let body = message.body
            guard configuration.key(of: body.replica) != nil else { throw .unknownSigner(body.replica) }
            guard body.sequence == sequence, body.stateRoot == stateRoot else { throw .mismatch(body.replica) }
            guard seen.insert(body.replica).inserted else { throw .duplicateSigner(body.replica) }
        }
        guard seen.count >= configuration.quorum else {
            throw .tooFewMessages(have: seen.count, need: configuration.quorum)
        }
        for message in messages where !verifier.verify(message, in: configuration) {
            throw .invalidSignature(message.body.replica)
        }
    }
}
