import Cryptography
import Testing

@testable import PBFT

/// Each hostile or redundant input is ignored with a reason, and nothing counts it.
@Suite struct ValidationTests {
    /// Replica 1 (a backup in view 0) has accepted a pre-prepare for sequence 1.
    static func accepted() throws -> (Fixture, Batch) {
        var fixture = try Fixture()
        let batch = fixture.batch([1, 2])
        let actions = fixture.receive(fixture.prePrepare(1, batch), from: 0)
        #expect(actions.sentPrepares.count == 1)
        #expect(actions.rejections.isEmpty)
        return (fixture, batch)
    }

    @Test func quorumsAreCountedExactly() throws {
        var (fixture, batch) = try Self.accepted()
        let digest = batch.digest
        // n = 4, f = 1: prepared needs 2f = 2 prepares from backups; we have our own.
        var actions = fixture.receive(fixture.commit(1, digest, from: 2), from: 2)
        actions += fixture.receive(fixture.commit(1, digest, from: 3), from: 3)
        #expect(actions.sentCommits.isEmpty, "commits alone do not prepare")
        #expect(actions.executions.isEmpty, "not prepared, so not committed")
        // A prepare from the primary does not count (and is refused).
        actions = fixture.receive(fixture.prepare(1, digest, from: 0), from: 0)
        #expect(actions.rejections == [.prepareFromPrimary])
        #expect(actions.sentCommits.isEmpty)
        // The second backup prepare: prepared, so commit; with the two commits that
        // were waiting plus our own (2f+1 = 3) the block executes.
        actions = fixture.receive(fixture.prepare(1, digest, from: 2), from: 2)
        #expect(actions.sentCommits.count == 1)
        let persisted = actions.persists
        #expect(persisted.count == 1)
        let blocks = actions.executions
        #expect(blocks.count == 1)
        #expect(blocks.first?.requests.map(\.requestID) == [1, 2])
        #expect(blocks.first?.certificate.signatures.count == 3)
    }

    @Test func oneVoteShortCommitsNothing() throws {
        var (fixture, batch) = try Self.accepted()
        let digest = batch.digest
        var actions = fixture.receive(fixture.prepare(1, digest, from: 2), from: 2)
        #expect(actions.sentCommits.count == 1)
        // Own commit + one more = 2 < 2f+1.
        actions = fixture.receive(fixture.commit(1, digest, from: 2), from: 2)
        #expect(actions.executions.isEmpty)
        // The third commit completes the quorum.
        actions = fixture.receive(fixture.commit(1, digest, from: 0), from: 0)
        #expect(actions.executions.count == 1)
    }

    @Test func prepareQuorumOneShort() throws {
        var (fixture, batch) = try Self.accepted()
        // Only our own prepare (1 < 2f): commits from everyone cannot commit it.
        var actions: [Action] = []
        for member in [0, 2, 3] { actions += fixture.receive(fixture.commit(1, batch.digest, from: member), from: member) }
        #expect(actions.sentCommits.isEmpty)
        #expect(actions.executions.isEmpty)
    }

    @Test func duplicateVotesAreNotCountedTwice() throws {
        var (fixture, batch) = try Self.accepted()
        let digest = batch.digest
        _ = fixture.receive(fixture.prepare(1, digest, from: 2), from: 2)
        // The same commit from replica 2 three times: still only two commits (ours + 2).
        var actions: [Action] = []
        for _ in 0..<3 { actions += fixture.receive(fixture.commit(1, digest, from: 2), from: 2) }
        #expect(actions.executions.isEmpty)
        #expect(actions.rejections == [.duplicate, .duplicate])
        // A different vote from the same replica for the same (view, sequence) is refused.
        actions = fixture.receive(fixture.commit(1, SHA256.hash("other"), from: 2), from: 2)
        #expect(actions.rejections == [.conflictingVote])
        #expect(actions.executions.isEmpty)
        // A duplicate prepare likewise.
        actions = fixture.receive(fixture.prepare(1, digest, from: 2), from: 2)
        #expect(actions.rejections == [.duplicate])
    }

    @Test func wrongViewIsIgnored() throws {
        var (fixture, batch) = try Self.accepted()
        var actions = fixture.receive(fixture.prepare(1, batch.digest, view: 1, from: 2), from: 2)
        #expect(actions.rejections == [.wrongView(got: 1, current: 0)])
        actions = fixture.receive(fixture.prePrepare(2, fixture.batch([3]), view: 1, from: 1 % 4), from: 0)
        #expect(actions.rejections.count == 1)
        actions = fixture.receive(fixture.prePrepare(2, fixture.batch([3]), view: 4, from: 0), from: 0)
        #expect(actions.rejections == [.wrongView(got: 4, current: 0)])
        #expect(actions.sentPrepares.isEmpty)
    }

    @Test func outsideWatermarksIsIgnored() throws {
        var fixture = try Fixture(checkpointInterval: 10, logWindow: 20)
        var actions = fixture.receive(fixture.prePrepare(21, fixture.batch([1])), from: 0)
        #expect(actions.rejections == [.outsideWatermarks(sequence: 21, low: 0, high: 20)])
        actions = fixture.receive(fixture.prePrepare(0, fixture.batch([1])), from: 0)
        #expect(actions.rejections == [.outsideWatermarks(sequence: 0, low: 0, high: 20)])
        actions = fixture.receive(fixture.prepare(UInt64.max, SHA256.hash("x"), from: 2), from: 2)
        #expect(actions.rejections == [.outsideWatermarks(sequence: UInt64.max, low: 0, high: 20)])
        actions = fixture.receive(fixture.prePrepare(20, fixture.batch([1])), from: 0)
        #expect(actions.rejections.isEmpty)
        #expect(actions.sentPrepares.count == 1)
        #expect(fixture.replica.footprint.logEntries == 1)
    }

    @Test func badSignaturesAreIgnored() throws {
        var (fixture, batch) = try Self.accepted()
        guard case var .prepare(forged) = fixture.prepare(1, batch.digest, from: 2) else { return }
        forged.signature[0] ^= 1
        var actions = fixture.receive(.prepare(forged), from: 2)
        #expect(actions.rejections == [.badSignature])
        // Replica 3 signing a vote as replica 2 (sender and signer differ).
        actions = fixture.receive(fixture.prepare(1, batch.digest, from: 2), from: 3)
        #expect(actions.rejections == [.senderMismatch(signer: ReplicaID(2))])
        // Replica 3's key signing a body that names replica 2.
        let body = Prepare(view: 0, sequence: 1, digest: batch.digest, replica: ReplicaID(2))
        let misattributed = Signed(body: body, signature: fixture.setup.signer(3).signature(for: MessageCodec.signingBytes(body)))
        actions = fixture.receive(.prepare(misattributed), from: 2)
        #expect(actions.rejections == [.badSignature])
        // An unknown member id.
        actions = fixture.receive(.prepare(Signed(body: Prepare(view: 0, sequence: 1, digest: batch.digest, replica: ReplicaID(9)), signature: forged.signature)), from: 9)
        #expect(actions.rejections == [.unknownSender])
        // None of these counted: one more honest prepare is still needed.
        #expect(fixture.replica.preparedCertificate(for: 1) == nil)
        actions = fixture.receive(fixture.prepare(1, batch.digest, from: 3), from: 3)
        #expect(actions.sentCommits.count == 1)
    }

    @Test func realEd25519RejectsAForgedPrePrepare() throws {
        var fixture = try Fixture(fast: false)
        let batch = fixture.batch([1])
        guard case .prePrepare(var signed, _) = fixture.prePrepare(1, batch) else { return }
        signed.signature[10] ^= 0x40
        var actions = fixture.receive(.prePrepare(signed, batch), from: 0)
        #expect(actions.rejections == [.badSignature])
        actions = fixture.receive(fixture.prePrepare(1, batch), from: 0)
        #expect(actions.rejections.isEmpty)
        #expect(actions.sentPrepares.count == 1)
    }

    @Test func wrongDigestIsIgnored() throws {
        var fixture = try Fixture()
        let batch = fixture.batch([1])
        let other = fixture.batch([2])
        let header = fixture.setup.sign(PrePrepare(view: 0, sequence: 1, digest: other.digest, replica: ReplicaID(0)))
        var actions = fixture.receive(.prePrepare(header, batch), from: 0)
        #expect(actions.rejections == [.digestMismatch])
        // Same requests, different timestamp: the timestamp is inside the digest.
        let restamped = Batch(timestamp: batch.timestamp + 1, requests: batch.requests)
        let header2 = fixture.setup.sign(PrePrepare(view: 0, sequence: 1, digest: batch.digest, replica: ReplicaID(0)))
        actions = fixture.receive(.prePrepare(header2, restamped), from: 0)
        #expect(actions.rejections == [.digestMismatch])
        #expect(fixture.replica.footprint.logEntries == 0)
    }

    @Test func prePrepareFromANonPrimaryIsIgnored() throws {
        var fixture = try Fixture()
        let actions = fixture.receive(fixture.prePrepare(1, fixture.batch([1]), from: 2), from: 2)
        #expect(actions.rejections == [.notFromPrimary(primary: ReplicaID(0))])
        #expect(actions.sentPrepares.isEmpty)
    }

    @Test func conflictingPrePrepareIsIgnored() throws {
        var (fixture, _) = try Self.accepted()
        var actions = fixture.receive(fixture.prePrepare(1, fixture.batch([7])), from: 0)
        #expect(actions.rejections == [.conflictingPrePrepare])
        #expect(actions.sentPrepares.isEmpty)
        actions = fixture.receive(fixture.prePrepare(1, fixture.batch([1, 2])), from: 0)
        #expect(actions.rejections == [.duplicate])
    }

    @Test func requestsWithTheWrongKindOrKeyAreRejected() throws {
        var primary = try Fixture(id: 0)
        let setup = primary.setup
        // Claims admin under the exchange client id.
        let wrongKind = setup.clientSign(
            ClientRequest(client: Keys.exchangeID, requestID: 1, kind: .admin, payload: [1]), with: Keys.exchange)
        var actions = primary.request(wrongKind)
        #expect(actions.rejections == [.wrongKind(claimed: .admin, authorized: .exchange)])
        // An admin request signed with the exchange key.
        let wrongKey = setup.clientSign(
            ClientRequest(client: Keys.adminID, requestID: 1, kind: .admin, payload: [1]), with: Keys.exchange)
        actions = primary.request(wrongKey)
        #expect(actions.rejections == [.badSignature])
        let unknown = setup.clientSign(
            ClientRequest(client: ClientID(77), requestID: 1, kind: .admin, payload: [1]), with: Keys.outsider)
        actions = primary.request(unknown)
        #expect(actions.rejections == [.unknownClient(ClientID(77))])
        #expect(primary.replica.footprint.pendingRequests == 0)

        // A backup refuses a whole batch that carries a mis-signed request.
        var backup = try Fixture()
        let batch = Batch(timestamp: 1, requests: [setup.request(1), wrongKey])
        actions = backup.receive(backup.prePrepare(1, batch), from: 0)
        #expect(actions.rejections == [.invalidRequestInBatch(index: 1, reason: "signature does not verify")])
        let batch2 = Batch(timestamp: 1, requests: [wrongKind])
        actions = backup.receive(backup.prePrepare(1, batch2), from: 0)
        #expect(actions.rejections == [.invalidRequestInBatch(index: 0, reason: "kind admin signed by a key authorized for exchange")])
        #expect(actions.sentPrepares.isEmpty)
    }

    @Test func replayedRequestExecutesAtMostOnce() throws {
        let seed: UInt64 = 5
        var network = try Network(TestSetup(n: 4, fast: true), seed: seed)
        let request = network.setup.request(1)
        network.submit(request)
        network.fire(.batch)
        network.run()
        let repliesBefore = network.replies.count
        #expect(repliesBefore == 4, "seed \(seed)")
        // The client retransmits: every replica resends its cached reply.
        network.submit(request)
        network.fire(.batch)
        network.run()
        #expect(network.replies.count == 8, "seed \(seed)")
        #expect(Set(network.replies[4...].map(\.reply)) == Set(network.replies[..<4].map(\.reply)), "seed \(seed)")
        for node in network.nodes {
            #expect(node.executions[request.key] == 1, "seed \(seed)")
            #expect(node.executed.count == 1, "seed \(seed)")
        }
        // A primary that orders an executed request again: it is ordered, not executed.
        var backup = try Fixture()
        for (sequence, batch) in [(UInt64(1), backup.batch([1])), (2, backup.batch([1], timestamp: 600))] {
            _ = backup.receive(backup.prePrepare(sequence, batch), from: 0)
            _ = backup.receive(backup.prepare(sequence, batch.digest, from: 2), from: 2)
            var actions = backup.receive(backup.commit(sequence, batch.digest, from: 2), from: 2)
            actions += backup.receive(backup.commit(sequence, batch.digest, from: 3), from: 3)
            let block = try #require(actions.executions.first)
            #expect(block.batch.requests.count == 1)
            #expect(block.requests.count == (sequence == 1 ? 1 : 0))
            _ = backup.replica.handle(.executed(
                sequence: sequence, stateRoot: SHA256.hash("s\(sequence)"),
                results: block.requests.map { _ in ExecutionResult(status: .applied, result: []) }, now: 1))
        }
    }

    @Test func executionReportsOutOfOrderAreRefused() throws {
        var fixture = try Fixture()
        let actions = fixture.replica.handle(.executed(sequence: 1, stateRoot: .zero, results: [], now: 1))
        #expect(actions.rejections.count == 1)
        #expect(fixture.replica.lastExecuted == 0)
    }

    @Test func clientTrackerNeedsFPlusOneMatchingReplies() throws {
        let setup = TestSetup(n: 4, fast: true)
        let configuration = try setup.configuration()
        var tracker = ClientRequestTracker(configuration: configuration, verifier: setup.verifier())
        let key = RequestKey(client: Keys.exchangeID, requestID: 3)
        func reply(_ from: Int, _ result: String) -> Signed<Reply> {
            setup.sign(Reply(
                view: 0, sequence: 2, client: key.client, requestID: key.requestID, status: .applied,
                result: Array(result.utf8), replica: ReplicaID(UInt16(from))))
        }
        #expect(tracker.handle(reply(0, "ok"), from: ReplicaID(0)) == .ignored("no outstanding \(key)"))
        tracker.track(key)
        #expect(tracker.handle(reply(0, "ok"), from: ReplicaID(0)) == .waiting(matching: 1))
        #expect(tracker.handle(reply(0, "ok"), from: ReplicaID(0)) == .ignored("second reply from replica 0"))
        #expect(tracker.handle(reply(1, "lie"), from: ReplicaID(1)) == .waiting(matching: 1))
        var forged = reply(2, "ok")
        forged.signature[0] ^= 1
        #expect(tracker.handle(forged, from: ReplicaID(2)) == .ignored("bad signature from replica 2"))
        let outcome = tracker.handle(reply(3, "ok"), from: ReplicaID(3))
        #expect(outcome == .accepted(AcceptedReply(key: key, sequence: 2, status: .applied, result: Array("ok".utf8))))
    }
}
