import Cryptography
import Testing

@testable import PBFT

/// NEW-VIEW validation and the O computation, with hand-built VIEW-CHANGEs: n = 4,
/// f = 1, K = 4, L = 8; view 1's primary is replica 1.
@Suite struct NewViewTests {
    let fixture: Fixture
    let genesis = CheckpointProof.genesis(stateRoot: .zero)
    let root = SHA256.hash(Array("state at 8".utf8))

    init() throws {
        fixture = try Fixture(n: 4, id: 2, checkpointInterval: 4, logWindow: 8)
    }

    var setup: TestSetup { fixture.setup }

    func batch(_ id: UInt64) -> Batch { fixture.batch([id], timestamp: 100 + id) }

    /// Prepared in view 0 at `sequence`: replica 0's pre-prepare and prepares from 2 and 3.
    func certificate(_ sequence: UInt64, _ batch: Batch, view: UInt64 = 0) -> PreparedCertificate {
        let primary = ReplicaID(UInt16(view % 4))
        let prepares = [0, 1, 2, 3].map { ReplicaID(UInt16($0)) }.filter { $0 != primary }.prefix(2).map {
            setup.sign(Prepare(view: view, sequence: sequence, digest: batch.digest, replica: $0))
        }
        return PreparedCertificate(
            prePrepare: setup.sign(PrePrepare(view: view, sequence: sequence, digest: batch.digest, replica: primary)),
            prepares: Array(prepares))
    }

    func proof(_ sequence: UInt64, signers: [Int]) -> CheckpointProof {
        CheckpointProof(
            sequence: sequence, stateRoot: root,
            messages: signers.map { fixture.checkpointBody(sequence, root, from: $0) })
    }

    func viewChange(
        from: Int, view: UInt64 = 1, checkpoint: CheckpointProof? = nil, prepared: [PreparedCertificate] = []
    ) -> Signed<ViewChange> {
        setup.sign(ViewChange(newView: view, checkpoint: checkpoint ?? genesis, prepared: prepared, replica: ReplicaID(UInt16(from))))
    }

    func newView(_ changes: [Signed<ViewChange>], _ slots: [(UInt64, Batch)], view: UInt64 = 1) -> Message {
        let primary = ReplicaID(UInt16(view % 4))
        let prePrepares = slots.map { setup.sign(PrePrepare(view: view, sequence: $0.0, digest: $0.1.digest, replica: primary)) }
        return .newView(
            setup.sign(NewView(view: view, viewChanges: changes, prePrepares: prePrepares, replica: primary)),
            slots.map(\.1))
    }

    static func invalidNewView(_ actions: [Action]) -> Bool {
        actions.rejections.contains { if case .invalidNewView = $0 { true } else { false } }
    }

    // MARK: O

    @Test func aNewViewWithAWrongOIsRejected() throws {
        var backup = fixture
        let x = batch(7)
        let changes = [viewChange(from: 0), viewChange(from: 1), viewChange(from: 3, prepared: [certificate(1, x)])]
        let null = NewViewComputation.nullBatch
        let wrongs: [[(UInt64, Batch)]] = [[], [(1, null)], [(1, batch(8))], [(1, x), (2, null)]]
        for wrong in wrongs {
            let actions = backup.receive(newView(changes, wrong), from: 1)
            #expect(Self.invalidNewView(actions), "\(wrong.map(\.0)): \(actions.rejections)")
            #expect(actions.persists.isEmpty && backup.replica.view == 0)
        }
        let actions = backup.receive(newView(changes, [(1, x)]), from: 1)
        #expect(actions.rejections.isEmpty, "\(actions.rejections)")
        #expect(backup.replica.view == 1 && !backup.replica.isChangingView)
        #expect(actions.persists.first == .enteredView(1))
        #expect(actions.sentPrepares.map(\.body) == [Prepare(view: 1, sequence: 1, digest: x.digest, replica: ReplicaID(2))])
    }

    /// Known bug: O computed over a subset of V (the first 2f+1) while the NEW-VIEW
    /// carries all of V. Backups recompute over all of V, reject it, and the view
    /// changes forever. Here O comes from the whole set, so both sides agree.
    @Test func oIsComputedOverTheWholeViewChangeSet() throws {
        let x = batch(7)
        let all = [
            viewChange(from: 0), viewChange(from: 1), viewChange(from: 2),
            viewChange(from: 3, checkpoint: proof(4, signers: [0, 1, 3]), prepared: [certificate(5, x)]),
        ]
        let subset = try #require(NewViewComputation.plan(all.prefix(3).map(\.body), configuration: fixture.configuration))
        let whole = try #require(NewViewComputation.plan(all.map(\.body), configuration: fixture.configuration))
        #expect(subset.slots.isEmpty && subset.checkpoint.sequence == 0)
        #expect(whole.checkpoint.sequence == 4 && whole.slots.map(\.sequence) == [5] && whole.slots[0].digest == x.digest)

        var backup = fixture
        var actions = backup.receive(newView(all, []), from: 1)
        #expect(Self.invalidNewView(actions))
        actions = backup.receive(newView(all, [(5, x)]), from: 1)
        #expect(actions.rejections.isEmpty, "\(actions.rejections)")
        #expect(backup.replica.lowWatermark == 4)

        // And the primary builds exactly that from every VIEW-CHANGE it holds.
        var primary = try Fixture(n: 4, id: 1, checkpointInterval: 4, logWindow: 8)
        // Two VIEW-CHANGEs for view 1 (f+1) make it join; with its own that is 2f+1.
        actions = primary.receive(.viewChange(all[0], []), from: 0)
        actions += primary.receive(.viewChange(all[3], [x]), from: 3)
        let sent = try #require(actions.broadcasts.compactMap { if case let .newView(m, b) = $0 { (m, b) } else { nil } }.first)
        #expect(sent.0.body.viewChanges.map(\.body.replica) == [ReplicaID(0), ReplicaID(1), ReplicaID(3)])
        #expect(sent.0.body.prePrepares.map(\.body.sequence) == [5] && sent.1 == [x])
        var other = fixture
        let accepted = other.receive(.newView(sent.0, sent.1), from: 1)
        #expect(accepted.rejections.isEmpty, "\(accepted.rejections)")
    }

    /// The initial checkpoint needs more than f signers, counted over all of V:
    /// two VIEW-CHANGEs each naming one signer together make a weak certificate.
    @Test func theInitialCheckpointNeedsAWeakCertificateOverTheWholeSet() throws {
        let configuration = fixture.configuration
        let one = viewChange(from: 0, checkpoint: proof(8, signers: [0])).body
        let other = viewChange(from: 3, checkpoint: proof(8, signers: [3])).body
        let plain = viewChange(from: 1).body
        #expect(NewViewComputation.plan([one, plain], configuration: configuration)?.checkpoint.sequence == 0)
        #expect(NewViewComputation.plan([one, plain, other], configuration: configuration)?.checkpoint.sequence == 8)
        // On the wire a proof must still be a full 2f+1 proof.
        var backup = fixture
        let actions = backup.receive(.viewChange(viewChange(from: 0, checkpoint: proof(8, signers: [0])), []), from: 0)
        #expect(actions.rejections == [.invalidProof(.tooFewMessages(have: 1, need: 3))])
    }

    @Test func nullRequestsFillTheGapsAndHighestViewWins() throws {
        let (x, y) = (batch(1), batch(2))
        let changes = [
            viewChange(from: 0, view: 2, prepared: [certificate(2, x, view: 0)]),
            viewChange(from: 1, view: 2, prepared: [certificate(2, y, view: 1), certificate(4, x)]),
            viewChange(from: 3, view: 2),
        ]
        let plan = try #require(NewViewComputation.plan(changes.map(\.body), configuration: fixture.configuration))
        #expect(plan.slots.map(\.sequence) == [1, 2, 3, 4])
        #expect(plan.slots.map(\.isNull) == [true, false, true, false])
        #expect(plan.slots[1].digest == y.digest && plan.slots[0].digest == NewViewComputation.nullBatch.digest)
    }

    // MARK: Known bugs

    /// A member's VIEW-CHANGE counts once, however often it appears or arrives.
    @Test func aVoteIsNeverCountedTwice() throws {
        var backup = fixture
        let three = viewChange(from: 3)
        var actions = backup.receive(newView([viewChange(from: 1), three, three], []), from: 1)
        #expect(Self.invalidNewView(actions) && backup.replica.view == 0)

        var primary = try Fixture(n: 4, id: 1, checkpointInterval: 4, logWindow: 8)
        _ = primary.request(setup.request(1))
        actions = primary.replica.handle(.timerFired(.request, now: 50))
        actions += primary.receive(.viewChange(three, []), from: 3)
        actions += primary.receive(.viewChange(three, []), from: 3)
        #expect(actions.rejections == [.duplicate])
        #expect(!actions.broadcasts.contains { if case .newView = $0 { true } else { false } })
        #expect(primary.replica.isChangingView)
        // A second, different VIEW-CHANGE for the same view is not a second vote either.
        let changed = viewChange(from: 3, prepared: [certificate(1, batch(9))])
        actions = primary.receive(.viewChange(changed, [batch(9)]), from: 3)
        #expect(actions.rejections == [.conflictingVote] && primary.replica.isChangingView)
    }

    /// Known bug: after NEW-VIEW, min-s is the new low watermark. A replica that kept
    /// its old h would drop the new primary's first fresh pre-prepares above h + L.
    @Test func aFreshPrePrepareAfterNewViewIsNotDroppedByOldWatermarks() throws {
        var backup = fixture
        let changes = [viewChange(from: 0), viewChange(from: 1), viewChange(from: 3, checkpoint: proof(8, signers: [0, 1, 3]))]
        var actions = backup.receive(newView(changes, []), from: 1)
        #expect(actions.rejections.isEmpty, "\(actions.rejections)")
        #expect(backup.replica.lowWatermark == 8 && backup.replica.highWatermark == 16)
        // It has not executed to 8: it is told to catch up.
        #expect(actions.contains { if case .notice(.behindStableCheckpoint) = $0 { true } else { false } })
        for sequence: UInt64 in [9, 14] {
            actions = backup.receive(fixture.prePrepare(sequence, batch(sequence), view: 1, from: 1), from: 1)
            #expect(actions.rejections.isEmpty, "n\(sequence): \(actions.rejections)")
            #expect(actions.sentPrepares.count == 1)
        }
    }

    /// Known bug: checkpoints must come from execution (the last executed block and
    /// its state root), never from the proposal counter, which a new primary moves
    /// to max-s at once.
    @Test func checkpointsComeFromExecutionNotTheProposalCounter() throws {
        var primary = try Fixture(n: 4, id: 1, checkpointInterval: 4, logWindow: 8)
        let x = batch(7)
        var actions = primary.receive(.viewChange(viewChange(from: 3, prepared: [certificate(4, x)]), [x]), from: 3)
        actions += primary.receive(.viewChange(viewChange(from: 0), []), from: 0)
        let sent = try #require(actions.broadcasts.compactMap { if case let .newView(m, _) = $0 { m } else { nil } }.first)
        #expect(sent.body.prePrepares.map(\.body.sequence) == [1, 2, 3, 4])
        #expect(primary.replica.lastAssigned >= 4 && primary.replica.lastExecuted == 0)
        let checkpoints = actions.broadcasts.filter { if case .checkpoint = $0 { true } else { false } }
        #expect(checkpoints.isEmpty)
        #expect(primary.replica.stableCheckpoint.sequence == 0)
        #expect(!primary.replica.retransmissions().broadcasts.contains { if case .checkpoint = $0 { true } else { false } })
        // Its fresh proposal goes after max-s.
        actions = primary.request(setup.request(2))
        actions += primary.replica.handle(.timerFired(.batch, now: 60))
        let fresh = actions.broadcasts.compactMap { if case let .prePrepare(m, _) = $0 { m.body.sequence } else { nil } }
        #expect(fresh.allSatisfy { $0 > 4 } && !fresh.isEmpty, "\(fresh)")
    }

    // MARK: Validation

    @Test func invalidViewChangesAreRejected() throws {
        var backup = fixture
        let x = batch(7)
        // Batch missing or not matching its certificate.
        var actions = backup.receive(.viewChange(viewChange(from: 0, prepared: [certificate(1, x)]), []), from: 0)
        #expect(actions.rejections.contains { if case .invalidViewChange = $0 { true } else { false } })
        actions = backup.receive(.viewChange(viewChange(from: 0, prepared: [certificate(1, x)]), [batch(8)]), from: 0)
        #expect(actions.rejections == [.digestMismatch])
        // A certificate above the window, or from the view being changed to.
        actions = backup.receive(.viewChange(viewChange(from: 0, prepared: [certificate(9, x)]), [x]), from: 0)
        #expect(actions.rejections.contains { if case .invalidViewChange = $0 { true } else { false } })
        actions = backup.receive(.viewChange(viewChange(from: 0, prepared: [certificate(1, x, view: 1)]), [x]), from: 0)
        #expect(actions.rejections.contains { if case .invalidViewChange = $0 { true } else { false } })
        // A forged prepare inside a certificate.
        var forged = certificate(1, x)
        forged.prepares[0].signature[0] ^= 1
        actions = backup.receive(.viewChange(viewChange(from: 0, prepared: [forged]), [x]), from: 0)
        #expect(actions.rejections == [.invalidProof(.invalidSignature(forged.prepares[0].body.replica))])
        // Signed by someone else than the connection's member.
        actions = backup.receive(.viewChange(viewChange(from: 3), []), from: 0)
        #expect(actions.rejections == [.senderMismatch(signer: ReplicaID(3))])
        #expect(backup.replica.view == 0)
        // A NEW-VIEW from a replica that is not the view's primary.
        actions = backup.receive(
            .newView(setup.sign(NewView(view: 1, viewChanges: [], prePrepares: [], replica: ReplicaID(3))), []), from: 3)
        #expect(actions.rejections == [.notFromPrimary(primary: ReplicaID(1))])
    }

    // MARK: Codec

    @Test func viewChangeAndNewViewRoundTripAndRefuseHostileBytes() throws {
        let limits = fixture.configuration.codecLimits
        let x = batch(7)
        let change = viewChange(from: 3, checkpoint: proof(4, signers: [0, 1, 3]), prepared: [certificate(5, x)])
        let messages: [Message] = [
            .viewChange(change, [x]),
            newView([viewChange(from: 0), viewChange(from: 1), change], [(5, x)]),
        ]
        var random = SeededRandom(seed: 77)
        for message in messages {
            let bytes = MessageCodec.encode(message)
            #expect(try MessageCodec.decode(bytes, limits: limits) == message)
            for cut in 0..<bytes.count {
                #expect(throws: DecodingError.self) { try MessageCodec.decode(Array(bytes.prefix(cut)), limits: limits) }
            }
            for _ in 0..<2_000 {
                var mutated = bytes
                mutated[Int(random.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: random.next() | 1)
                if let decoded = try? MessageCodec.decode(mutated, limits: limits) {
                    #expect(MessageCodec.encode(decoded) == mutated)
                }
            }
        }
        // Counts that the bytes cannot hold, or above the limits, fail before allocating.
        var writer = ByteWriter()
        writer.u8(MessageCodec.version)
        writer.u8(MessageTag.viewChange.rawValue)
        writer.u64(1)
        writer.u64(0)
        writer.digest(.zero)
        writer.u16(0)
        writer.u32(UInt32.max)
        #expect(throws: DecodingError.tooLarge(field: "view-change.prepared", limit: 8, actual: Int(UInt32.max))) {
            try MessageCodec.decode(writer.bytes, limits: limits)
        }
        var nv = ByteWriter()
        nv.u8(MessageCodec.version)
        nv.u8(MessageTag.newView.rawValue)
        nv.u64(1)
        nv.u32(4)
        #expect(throws: DecodingError.self) { try MessageCodec.decode(nv.bytes, limits: limits) }
        // Persisted view records round-trip too.
        for record in [PersistRecord.movedToView(3), .enteredView(3)] {
            #expect(try PersistRecordCodec.decode(PersistRecordCodec.encode(record), limits: limits) == record)
        }
    }
}
