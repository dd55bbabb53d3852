import Cryptography
import Testing

@testable import PBFT

@Suite struct DurabilityTests {
    static func persistAll(_ actions: [Action], into state: inout DurableState) {
        for record in actions.persists { state.apply(record) }
    }

    func restarted(_ fixture: Fixture, from state: DurableState) -> Replica {
        Replica(
            restoringFrom: state, configuration: fixture.configuration, id: fixture.replica.id,
            signer: fixture.setup.signer(Int(fixture.replica.id.rawValue)), verifier: fixture.setup.verifier())
    }

    @Test func aRestartedBackupNeverPreparesTwoWays() throws {
        var fixture = try Fixture(fast: false)
        var state = DurableState()
        let batch = fixture.batch([1])
        let first = fixture.receive(fixture.prePrepare(1, batch), from: 0)
        // The persist record comes before the prepare it protects.
        let persistIndex = try #require(first.firstIndex { if case .persist = $0 { true } else { false } })
        let sendIndex = try #require(first.firstIndex { if case .broadcast = $0 { true } else { false } })
        #expect(persistIndex < sendIndex)
        Self.persistAll(first, into: &state)

        fixture.replica = restarted(fixture, from: state)
        // A (byzantine) primary offers a different batch for the same (view, sequence).
        var actions = fixture.receive(fixture.prePrepare(1, fixture.batch([2])), from: 0)
        #expect(actions.rejections == [.conflictingPrePrepare])
        #expect(actions.sentPrepares.isEmpty)
        // The original is a duplicate: the vote survived, identically signed.
        actions = fixture.receive(fixture.prePrepare(1, batch), from: 0)
        #expect(actions.rejections == [.duplicate])
        // And the replica carries on with the batch it voted for.
        actions = fixture.receive(fixture.prepare(1, batch.digest, from: 2), from: 2)
        let commit = try #require(actions.sentCommits.first)
        #expect(commit.body.digest == batch.digest)
        Self.persistAll(actions, into: &state)
        actions = fixture.receive(fixture.commit(1, batch.digest, from: 2), from: 2)
        actions += fixture.receive(fixture.commit(1, batch.digest, from: 3), from: 3)
        #expect(actions.executions.first?.digest == batch.digest)
    }

    @Test func aRestartedReplicaKeepsItsPreparedCertificateAndCommit() throws {
        var fixture = try Fixture(fast: false)
        var state = DurableState()
        let batch = fixture.batch([1, 2])
        Self.persistAll(fixture.receive(fixture.prePrepare(1, batch), from: 0), into: &state)
        let actions = fixture.receive(fixture.prepare(1, batch.digest, from: 3), from: 3)
        let commit = try #require(actions.sentCommits.first)
        Self.persistAll(actions, into: &state)
        let certificate = try #require(fixture.replica.preparedCertificate(for: 1))
        #expect(certificate.prepares.count == 2)

        fixture.replica = restarted(fixture, from: state)
        #expect(fixture.replica.preparedCertificate(for: 1) == certificate)
        #expect(fixture.replica.preparedCertificates == [certificate])
        // Ed25519 is deterministic: the restored commit is byte-for-byte the one sent.
        #expect(fixture.replica.log[1]?.commits[fixture.replica.id] == commit)
        var after = fixture.receive(fixture.commit(1, batch.digest, from: 0), from: 0)
        after += fixture.receive(fixture.commit(1, batch.digest, from: 2), from: 2)
        #expect(after.executions.count == 1)
    }

    @Test func aRestartedPrimaryDoesNotReuseASequenceNumber() throws {
        var setup = TestSetup(n: 4, fast: true)
        setup.batch = BatchPolicy(maxRequests: 1, maxBytes: 1 << 20, timeout: 1_000)
        let configuration = try setup.configuration()
        var primary = Replica(configuration: configuration, id: ReplicaID(0), signer: setup.signer(0), verifier: setup.verifier())
        var state = DurableState()
        Self.persistAll(primary.handle(.clientRequest(setup.request(1), now: 1)), into: &state)
        primary = Replica(restoringFrom: state, configuration: configuration, id: ReplicaID(0), signer: setup.signer(0), verifier: setup.verifier())
        let actions = primary.handle(.clientRequest(setup.request(2), now: 2))
        guard case let .prePrepare(header, _)? = actions.broadcasts.first else {
            Issue.record("no pre-prepare: \(actions)")
            return
        }
        #expect(header.body.sequence == 2)
    }

    @Test(arguments: [UInt64(11), 12, 13])
    func aCrashedBackupRejoinsAndEveryoneAgrees(seed: UInt64) throws {
        var network = try Network(TestSetup(n: 4, fast: true), seed: seed)
        var next: UInt64 = 1
        for round in 0..<12 {
            for _ in 0..<3 {
                network.submit(network.setup.request(next))
                next += 1
            }
            // Deliver part of the traffic, crash replica 2, then finish.
            network.run(maxSteps: 10)
            if round % 4 == 1 { network.restart(2) }
            network.run()
            network.fire(.batch)
            network.run()
        }
        let digests = try #require(network.agreedDigests(), "seed \(seed)")
        #expect(network.nodes[0].executed.flatMap(\.requests).count == 36, "seed \(seed)")
        #expect(!digests.isEmpty, "seed \(seed)")
        for node in network.nodes {
            #expect(node.executions.values.allSatisfy { $0 == 1 }, "seed \(seed)")
        }
    }

    @Test func durableStateDropsRecordsAtOrBelowTheStableCheckpoint() throws {
        let fixture = try Fixture()
        var state = DurableState()
        for sequence in UInt64(1)...12 {
            let batch = fixture.batch([sequence])
            let header = fixture.setup.sign(PrePrepare(view: 0, sequence: sequence, digest: batch.digest, replica: ReplicaID(0)))
            state.apply(.prePrepared(AcceptedPrePrepare(prePrepare: header, batch: batch)))
        }
        state.apply(.stableCheckpoint(CheckpointProof(sequence: 10, stateRoot: SHA256.hash("r"), messages: [])))
        #expect(state.prePrepared.keys.sorted() == [11, 12])
        // A late record below the checkpoint is not resurrected.
        let old = fixture.batch([3])
        state.apply(.prePrepared(AcceptedPrePrepare(
            prePrepare: fixture.setup.sign(PrePrepare(view: 0, sequence: 3, digest: old.digest, replica: ReplicaID(0))),
            batch: old)))
        #expect(state.prePrepared.keys.sorted() == [11, 12])
    }

    @Test func retransmissionsResendOnlyWhatWasVotedAndPersisted() throws {
        var fixture = try Fixture(fast: false)
        var state = DurableState()
        let batch = fixture.batch([1])
        Self.persistAll(fixture.receive(fixture.prePrepare(1, batch), from: 0), into: &state)
        let sent = fixture.receive(fixture.prepare(1, batch.digest, from: 2), from: 2)
        Self.persistAll(sent, into: &state)
        let prepare = try #require(fixture.replica.log[1]?.prepares[fixture.replica.id])
        let commit = try #require(sent.sentCommits.first)
        #expect(fixture.replica.retransmissions() == [.broadcast(.prepare(prepare)), .broadcast(.commit(commit))])
        // After a restart the same bytes go out again, nothing else.
        let restored = restarted(fixture, from: state)
        #expect(restored.retransmissions() == fixture.replica.retransmissions())
    }

    @Test func aRestartedReplicaRebuildsItsCheckpointVote() throws {
        let fixture = try Fixture(checkpointInterval: 10)
        var state = DurableState()
        state.lastExecuted = 10
        state.lastExecutedStateRoot = SHA256.hash("root 10")
        var replica = restarted(fixture, from: state)
        let vote = fixture.setup.sign(Checkpoint(sequence: 10, stateRoot: state.lastExecutedStateRoot, replica: replica.id))
        #expect(replica.retransmissions() == [.broadcast(.checkpoint(vote))])
        // Two more matching votes make it stable, although the crash lost the others.
        for member in [0, 2] {
            let message = fixture.checkpoint(10, state.lastExecutedStateRoot, from: member)
            _ = replica.handle(.message(message, from: .replica(ReplicaID(UInt16(member))), now: 1))
        }
        #expect(replica.lowWatermark == 10)
        // The stable vote stays available for members whose window lags.
        #expect(replica.retransmissions() == [.broadcast(.checkpoint(vote))])
    }
}
