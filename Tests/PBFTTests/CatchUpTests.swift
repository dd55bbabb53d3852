import Cryptography
import Testing

@testable import PBFT

/// A replica that missed traffic (crash, partition) catches up from a peer's blocks
/// and certificates, adopts the peer's stable checkpoint, and votes again.
@Suite struct CatchUpTests {
    @Test(arguments: [UInt64(31), 32, 33])
    func anIsolatedReplicaCatchesUpFromCertifiedBlocksAndRejoins(seed: UInt64) throws {
        var network = try Network(CheckpointTests.oneRequestPerBlock(k: 10, window: 20), seed: seed)
        let isolated = ReplicaID(3)
        network.filter = { _, to, _ in to != isolated }
        for id in 1...25 {
            network.submit(network.setup.request(UInt64(id)), to: [0, 1, 2])
            network.run()
        }
        #expect(network.nodes[0].replica.lastExecuted == 25, "seed \(seed)")
        #expect(network.nodes[0].replica.lowWatermark == 20, "seed \(seed)")
        #expect(network.nodes[3].replica.lastExecuted == 0, "seed \(seed)")

        // Heal; the shell fetches replica 0's blocks and stable checkpoint proof.
        network.filter = nil
        var rejections: [RejectReason] = []
        let blocks = network.nodes[0].executed
        // Out of order first: refused.
        var actions = network.nodes[3].replica.handle(
            .certifiedBlock(blocks[1].batch, blocks[1].certificate, from: .replica(ReplicaID(0)), now: 1))
        #expect(actions.rejections == [.notNextBlock(expected: 1)], "seed \(seed)")
        // A proof for a state not reached yet: refused.
        let proof = network.nodes[0].replica.stableCheckpoint
        actions = network.nodes[3].replica.handle(.checkpointProof(proof, from: .replica(ReplicaID(0)), now: 1))
        #expect(actions.rejections == [.checkpointNotReached(lastExecuted: 0)], "seed \(seed)")
        for block in blocks {
            network.deliver(.certifiedBlock(block.batch, block.certificate, from: .replica(ReplicaID(0)), now: 2), to: 3)
        }
        rejections += network.nodes[3].rejections.map(\.reason)
        #expect(rejections.isEmpty, "seed \(seed): \(rejections)")
        #expect(network.nodes[3].replica.lastExecuted == 25, "seed \(seed)")
        network.deliver(.checkpointProof(proof, from: .replica(ReplicaID(0)), now: 3), to: 3)
        #expect(network.nodes[3].replica.lowWatermark == 20, "seed \(seed)")
        network.run()

        // It takes part again: new blocks commit with its votes and it executes them.
        for id in 26...40 {
            network.submit(network.setup.request(UInt64(id)))
            network.run()
        }
        let digests = try #require(network.agreedDigests(), "seed \(seed)")
        #expect(digests.count == 40, "seed \(seed)")
        // Its own votes count: with replica 2 silenced, 0, 1 and 3 still commit.
        network.filter = { from, _, _ in from != ReplicaID(2) }
        network.submit(network.setup.request(41))
        network.run()
        #expect(network.nodes[3].replica.lastExecuted == 41, "seed \(seed)")
        #expect(network.nodes[0].replica.lastExecuted == 41, "seed \(seed)")
    }

    @Test func forgedOrMismatchedCertifiedBlocksAreRefused() throws {
        let seed: UInt64 = 40
        var network = try Network(CheckpointTests.oneRequestPerBlock(), seed: seed)
        network.filter = { _, to, _ in to != ReplicaID(3) }
        network.submit(network.setup.request(1), to: [0, 1, 2])
        network.run()
        let block = try #require(network.nodes[0].executed.first)
        var replica = network.nodes[3].replica
        let peer = Sender.replica(ReplicaID(0))
        // Batch swapped under a valid certificate.
        let other = Batch(timestamp: 1, requests: [network.setup.request(9)])
        var actions = replica.handle(.certifiedBlock(other, block.certificate, from: peer, now: 1))
        #expect(actions.rejections == [.digestMismatch])
        // A certificate one signature short.
        var short = block.certificate
        short.signatures.removeLast()
        actions = replica.handle(.certifiedBlock(block.batch, short, from: peer, now: 1))
        #expect(actions.rejections == [.invalidCertificate(.tooFewSignatures(have: 2, need: 3))])
        var forged = block.certificate
        forged.signatures[0].signature[0] ^= 1
        actions = replica.handle(.certifiedBlock(block.batch, forged, from: peer, now: 1))
        #expect(actions.rejections == [.invalidCertificate(.invalidSignature(forged.signatures[0].replica))])
        #expect(replica.lastDispatched == 0)
        actions = replica.handle(.certifiedBlock(block.batch, block.certificate, from: peer, now: 1))
        #expect(actions.executions.count == 1)
        actions = replica.handle(.certifiedBlock(block.batch, block.certificate, from: peer, now: 1))
        #expect(actions.rejections == [.duplicate])
    }

    @Test func aProofForADifferentStateIsRefused() throws {
        var fixture = try Fixture(checkpointInterval: 1, logWindow: 2)
        // Execute sequence 1 through a certified block built from real commits.
        let batch = fixture.batch([1])
        let signatures = (0..<3).map { member -> CommitSignature in
            let commit = fixture.setup.sign(Commit(view: 0, sequence: 1, digest: batch.digest, replica: ReplicaID(UInt16(member))))
            return CommitSignature(replica: commit.body.replica, signature: commit.signature)
        }
        let certificate = CommitCertificate(view: 0, sequence: 1, digest: batch.digest, signatures: signatures)
        _ = fixture.replica.handle(.certifiedBlock(batch, certificate, from: .replica(ReplicaID(0)), now: 1))
        let ours = SHA256.hash("ours")
        _ = fixture.replica.handle(.executed(
            sequence: 1, stateRoot: ours, results: [ExecutionResult(status: .applied, result: [])], now: 2))
        let theirs = SHA256.hash("theirs")
        let proof = CheckpointProof(
            sequence: 1, stateRoot: theirs,
            messages: [0, 2, 3].map { fixture.setup.sign(Checkpoint(sequence: 1, stateRoot: theirs, replica: ReplicaID($0))) })
        let actions = fixture.replica.handle(.checkpointProof(proof, from: .replica(ReplicaID(0)), now: 3))
        #expect(actions.rejections == [.stateRootMismatch(local: ours)])
        #expect(actions.contains(.notice(.stateDivergence(sequence: 1, local: ours, agreed: theirs))))
        #expect(fixture.replica.lowWatermark == 0)
    }
}
