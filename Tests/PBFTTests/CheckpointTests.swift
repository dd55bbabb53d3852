import Cryptography
import Testing

@testable import PBFT

@Suite struct CheckpointTests {
    static func oneRequestPerBlock(n: Int = 4, k: UInt64 = 10, window: UInt64 = 20) -> TestSetup {
        var setup = TestSetup(n: n, fast: true, checkpointInterval: k, logWindow: window)
        setup.batch = BatchPolicy(maxRequests: 1, maxBytes: 1 << 20, timeout: 1_000)
        return setup
    }

    @Test func logStaysBoundedOverAThousandBlocks() throws {
        let seed: UInt64 = 2026
        var network = try Network(Self.oneRequestPerBlock(), seed: seed)
        network.keepBlocks = false
        var peak = 0
        var peakVotes = 0
        for id in 1...1_000 {
            network.submit(network.setup.request(UInt64(id)))
            network.run()
            for node in network.nodes {
                peak = max(peak, node.replica.footprint.logEntries)
                peakVotes = max(peakVotes, node.replica.footprint.storedVotes)
            }
        }
        for node in network.nodes {
            let replica = node.replica
            #expect(replica.lastExecuted == 1_000, "seed \(seed)")
            #expect(replica.stableCheckpoint.sequence == 1_000, "seed \(seed)")
            // The stable checkpoint carries the root the shell reported, with 2f+1 proofs.
            #expect(replica.stableCheckpoint.stateRoot == node.stateRoots[1_000], "seed \(seed)")
            #expect(replica.stableCheckpoint.messages.count == 3, "seed \(seed)")
            let footprint = replica.footprint
            #expect(footprint.logEntries == 0, "seed \(seed): \(footprint)")
            #expect(footprint.checkpointSequences <= 2, "seed \(seed): \(footprint)")
            #expect(footprint.pendingRequests == 0 && footprint.awaitedRequests == 0, "seed \(seed): \(footprint)")
            #expect(footprint.dispatchedBlocks == 0, "seed \(seed)")
            #expect(footprint.cachedReplies <= network.configuration.repliesCachedPerClient, "seed \(seed)")
            #expect(node.durable.prePrepared.isEmpty && node.durable.prepared.isEmpty, "seed \(seed)")
            #expect(node.executedCount == 1_000, "seed \(seed)")
        }
        // Never more than the window L (plus the votes of one window) was held.
        #expect(peak <= 20, "seed \(seed): peak \(peak)")
        #expect(peakVotes <= 20 * (2 * 4 + 1) + 2 * 4, "seed \(seed): peak votes \(peakVotes)")
    }

    @Test func primaryWaitsAtTheHighWatermarkUntilACheckpointIsStable() throws {
        let seed: UInt64 = 77
        var network = try Network(Self.oneRequestPerBlock(), seed: seed)
        // Stop checkpoints so that the window cannot move.
        network.filter = { _, _, message in if case .checkpoint = message { false } else { true } }
        for id in 1...30 { network.submit(network.setup.request(UInt64(id)), to: [0]) }
        network.run()
        #expect(network.nodes[0].replica.lastExecuted == 20, "seed \(seed)")
        #expect(network.nodes[1].replica.lastExecuted == 20, "seed \(seed)")
        // Checkpoints flow again: the primary's own at 20 plus two more make it stable.
        network.filter = nil
        let primary = network.nodes[0].replica
        for member in 1...2 {
            let root = network.nodes[member].stateRoots[20] ?? .zero
            let message = Message.checkpoint(network.setup.sign(Checkpoint(sequence: 20, stateRoot: root, replica: ReplicaID(UInt16(member)))))
            network.deliver(.message(message, from: .replica(ReplicaID(UInt16(member))), now: 5), to: 0)
        }
        #expect(primary.lowWatermark == 0)
        #expect(network.nodes[0].replica.lowWatermark == 20, "seed \(seed)")
        network.run()
        #expect(network.nodes[0].replica.lastAssigned == 30, "seed \(seed)")
    }

    @Test func aQuorumAboveOurExecutionIsReportedNotAdopted() throws {
        var fixture = try Fixture()
        let root = SHA256.hash("agreed")
        var actions: [Action] = []
        for member in [0, 2, 3] { actions += fixture.receive(fixture.checkpoint(10, root, from: member), from: member) }
        #expect(fixture.replica.lowWatermark == 0)
        let notices = actions.compactMap { if case let .notice(n) = $0 { n } else { nil } }
        guard case let .behindStableCheckpoint(proof, lastExecuted)? = notices.first else {
            Issue.record("expected a behind notice, got \(actions)")
            return
        }
        #expect(proof.sequence == 10 && proof.stateRoot == root && proof.messages.count == 3)
        #expect(lastExecuted == 0)
        // Not at a checkpoint sequence: refused.
        actions = fixture.receive(fixture.checkpoint(7, root, from: 2), from: 2)
        #expect(actions.rejections == [.notCheckpointSequence(7)])
    }

    @Test func divergentLocalStateIsReported() throws {
        let seed: UInt64 = 3
        var network = try Network(Self.oneRequestPerBlock(), seed: seed)
        // Replica 3 never gets checkpoints, so it stays at h = 0 until we feed it.
        network.filter = { _, to, message in
            if case .checkpoint = message, to == ReplicaID(3) { false } else { true }
        }
        for id in 1...10 { network.submit(network.setup.request(UInt64(id)), to: [0]) }
        network.run()
        #expect(network.nodes[3].replica.lastExecuted == 10, "seed \(seed)")
        var actions: [Action] = []
        let wrong = SHA256.hash("a different ledger")
        for member in 0...2 {
            let message = Message.checkpoint(network.setup.sign(Checkpoint(sequence: 10, stateRoot: wrong, replica: ReplicaID(UInt16(member)))))
            actions += network.nodes[3].replica.handle(.message(message, from: .replica(ReplicaID(UInt16(member))), now: 9))
        }
        #expect(actions.contains(.notice(.stateDivergence(sequence: 10, local: network.nodes[3].stateRoots[10] ?? .zero, agreed: wrong))))
        #expect(network.nodes[3].replica.lowWatermark == 0)
    }

    @Test func aQuorumForABlockStillExecutingWaitsForOurRoot() throws {
        var fixture = try Fixture(checkpointInterval: 1, logWindow: 2)
        let batch = fixture.batch([1])
        _ = fixture.receive(fixture.prePrepare(1, batch), from: 0)
        _ = fixture.receive(fixture.prepare(1, batch.digest, from: 2), from: 2)
        _ = fixture.receive(fixture.commit(1, batch.digest, from: 2), from: 2)
        let dispatched = fixture.receive(fixture.commit(1, batch.digest, from: 3), from: 3)
        #expect(dispatched.executions.count == 1)
        let root = SHA256.hash("root 1")
        var actions: [Action] = []
        for member in [0, 2, 3] { actions += fixture.receive(fixture.checkpoint(1, root, from: member), from: member) }
        // Executing, not behind: no state transfer alarm, and not stable yet.
        #expect(!actions.contains { if case .notice = $0 { true } else { false } })
        #expect(fixture.replica.lowWatermark == 0)
        actions = fixture.replica.handle(.executed(
            sequence: 1, stateRoot: root, results: [ExecutionResult(status: .applied, result: [])], now: 9))
        #expect(fixture.replica.lowWatermark == 1)
        #expect(actions.contains(.notice(.checkpointStable(sequence: 1, stateRoot: root))))
        #expect(actions.persists.count == 1)
    }
}
