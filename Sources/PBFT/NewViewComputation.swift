import Cryptography

/// What O says for one sequence number of the new view.
public struct NewViewSlot: Hashable, Sendable {
    public var sequence: UInt64
    /// The digest to pre-prepare: the batch of the highest-view prepared
    /// certificate in V for this sequence, or the null batch.
    public var digest: SHA256Digest
    /// The certificate the digest was taken from; nil for a null request.
    public var source: PreparedCertificate?
    public var isNull: Bool { source == nil }
}

/// The part of NEW-VIEW that both the new primary and every backup derive from V.
public struct NewViewPlan: Hashable, Sendable {
    /// min-s: the stable checkpoint the new view starts from (its low watermark).
    public var checkpoint: CheckpointProof
    /// max-s: the highest sequence prepared in V above min-s (min-s when none).
    public var maxSequence: UInt64
    /// One slot for every sequence in (min-s, max-s], in order.
    public var slots: [NewViewSlot]
}

/// Computing O from V (TOCS 2002 §4.4), as a pure function so that the primary
/// and the backups cannot disagree by construction, and so that it can be tested
/// on its own. Always over the whole V that the NEW-VIEW carries: a primary that
/// computed over a subset (say the first 2f+1 it received) while sending more
/// would have its NEW-VIEW rejected by every backup, and views would change
/// forever.
public enum NewViewComputation {
    /// The null request: an empty batch with timestamp 0, identical on every
    /// replica, so that its digest in O can be recomputed. Executing it changes
    /// nothing but the block height.
    public static let nullBatch = Batch(timestamp: 0, requests: [])

    /// `viewChanges` must already be validated (signatures, proofs, certificates).
    ///
    /// min-s is the highest checkpoint with a weak certificate (more than f
    /// distinct signers of CHECKPOINT for that sequence and root) counted over
    /// all proofs in V together: at least one honest replica then holds that
    /// state, so the new view may start from it. (A valid 2f+1 proof alone is
    /// already one; counting across V keeps the rule the paper's and lets a
    /// checkpoint be chosen from any member of V, not only from a subset.) The
    /// genesis checkpoint needs no signatures.
    ///
    /// max-s is the highest sequence of any prepared certificate above min-s. For
    /// each n in (min-s, max-s], O pre-prepares the digest of the certificate with
    /// the highest view for n (ties at one view carry the same digest, since two
    /// certificates for one (view, n) need f+1 honest members to prepare twice),
    /// or the null batch where V has none.
    public static func plan(_ viewChanges: [ViewChange], configuration: Configuration) -> NewViewPlan? {
        guard !viewChanges.isEmpty else { return nil }
        // Weak certificates over the whole V: distinct signers per (sequence, root).
        struct Point: Hashable {
            var sequence: UInt64
            var root: SHA256Digest
        }
        var signers: [Point: Set<ReplicaID>] = [:]
        var proofs: [Point: CheckpointProof] = [:]
        for change in viewChanges {
            let proof = change.checkpoint
            let point = Point(sequence: proof.sequence, root: proof.stateRoot)
            if proofs[point] == nil { proofs[point] = proof }
            for message in proof.messages where message.body.sequence == proof.sequence && message.body.stateRoot == proof.stateRoot {
                signers[point, default: []].insert(message.body.replica)
            }
        }
        let chosen = proofs.keys
            .filter { $0.sequence == 0 || (signers[$0]?.count ?? 0) > configuration.f }
            .max { a, b in
                a.sequence != b.sequence ? a.sequence < b.sequence : a.root.bytes.lexicographicallyPrecedes(b.root.bytes)
            }
        guard let chosen, let checkpoint = proofs[chosen] else { return nil }
        let minS = checkpoint.sequence

        var best: [UInt64: PreparedCertificate] = [:]
        for change in viewChanges {
            for certificate in change.prepared where certificate.sequence > minS {
                if let current = best[certificate.sequence] {
                    if certificate.view > current.view
                        || (certificate.view == current.view
                            && certificate.digest.bytes.lexicographicallyPrecedes(current.digest.bytes))
                    {
                        best[certificate.sequence] = certificate
                    }
                } else {
                    best[certificate.sequence] = certificate
                }
            }
        }
        let maxS = best.keys.max() ?? minS
        guard maxS - minS <= configuration.logWindow else { return nil }
        var slots: [NewViewSlot] = []
        slots.reserveCapacity(Int(maxS - minS))
        var sequence = minS
        while sequence < maxS {
            sequence += 1
            if let certificate = best[sequence] {
                slots.append(NewViewSlot(sequence: sequence, digest: certificate.digest, source: certificate))
            } else {
                slots.append(NewViewSlot(sequence: sequence, digest: nullBatch.digest, source: nil))
            }
        }
        return NewViewPlan(checkpoint: checkpoint, maxSequence: maxS, slots: slots)
    }
}
