import Cryptography
import Testing

@testable import PBFT

/// The proofs a replica keeps for view change and state transfer verify on their own.
@Suite struct ProofTests {
    @Test func preparedCertificatesFromTheLogVerify() throws {
        var (fixture, batch) = try ValidationTests.accepted()
        _ = fixture.receive(fixture.prepare(1, batch.digest, from: 3), from: 3)
        let certificate = try #require(fixture.replica.preparedCertificate(for: 1))
        try certificate.verify(against: fixture.configuration, verifier: fixture.setup.verifier())

        var short = certificate
        short.prepares.removeLast()
        #expect(throws: ProofError.tooFewMessages(have: 1, need: 2)) {
            try short.verify(against: fixture.configuration, verifier: fixture.setup.verifier())
        }
        var doubled = certificate
        doubled.prepares[1] = doubled.prepares[0]
        #expect(throws: ProofError.duplicateSigner(doubled.prepares[0].body.replica)) {
            try doubled.verify(against: fixture.configuration, verifier: fixture.setup.verifier())
        }
        var forged = certificate
        forged.prepares[0].signature[3] ^= 1
        #expect(throws: ProofError.invalidSignature(forged.prepares[0].body.replica)) {
            try forged.verify(against: fixture.configuration, verifier: fixture.setup.verifier())
        }
        let wrongPrimary = PreparedCertificate(
            prePrepare: fixture.setup.sign(PrePrepare(view: 0, sequence: 1, digest: batch.digest, replica: ReplicaID(2))),
            prepares: certificate.prepares)
        #expect(throws: ProofError.notFromPrimary(ReplicaID(2))) {
            try wrongPrimary.verify(against: fixture.configuration, verifier: fixture.setup.verifier())
        }
    }

    @Test func stableCheckpointProofsVerify() throws {
        let seed: UInt64 = 8
        var network = try Network(CheckpointTests.oneRequestPerBlock(), seed: seed)
        for id in 1...10 {
            network.submit(network.setup.request(UInt64(id)))
            network.run()
        }
        let proof = network.nodes[1].replica.stableCheckpoint
        #expect(proof.sequence == 10, "seed \(seed)")
        try proof.verify(against: network.configuration, genesisStateRoot: .zero, verifier: network.setup.verifier())
        var short = proof
        short.messages.removeLast()
        #expect(throws: ProofError.tooFewMessages(have: 2, need: 3)) {
            try short.verify(against: network.configuration, genesisStateRoot: .zero, verifier: network.setup.verifier())
        }
        var otherRoot = proof
        otherRoot.stateRoot = SHA256.hash("elsewhere")
        #expect(throws: ProofError.self) {
            try otherRoot.verify(against: network.configuration, genesisStateRoot: .zero, verifier: network.setup.verifier())
        }
        try CheckpointProof.genesis(stateRoot: .zero).verify(against: network.configuration, genesisStateRoot: .zero)
    }

    @Test func eachSignatureIsVerifiedOncePerReplica() throws {
        let counter = VerifyCounter()
        var setup = CheckpointTests.oneRequestPerBlock(k: 100, window: 200)
        setup.counter = counter
        let seed: UInt64 = 21
        var network = try Network(setup, seed: seed)
        network.submit(network.setup.request(1))
        network.run()
        #expect(network.nodes.allSatisfy { $0.replica.lastExecuted == 1 }, "seed \(seed)")
        // n = 4, one request sent to every replica, one block, no checkpoint:
        // primary: request + 3 prepares + 3 commits = 7;
        // backup: request (verified on arrival, not again in the pre-prepare)
        //   + pre-prepare + 2 prepares + 3 commits = 7.
        #expect(counter.value == 4 * 7, "seed \(seed): \(counter.value) verifications")
    }

    @Test func backupsRefuseUnsignedRequestsBeforeArmingTheTimer() throws {
        var fixture = try Fixture()
        var request = fixture.setup.request(1)
        request.signature[0] ^= 1
        var actions = fixture.request(request)
        #expect(actions.rejections == [.badSignature])
        #expect(!actions.contains(.setTimer(.request, after: 1_000_000)))
        actions = fixture.request(fixture.setup.request(1))
        #expect(actions.contains(.setTimer(.request, after: 1_000_000)))
        // The request timer expiring is reported, and the backup moves to the next view.
        actions = fixture.replica.handle(.timerFired(.request, now: 5))
        #expect(actions.first == .notice(.requestTimerExpired(waiting: 1)))
        #expect(fixture.replica.view == 1 && fixture.replica.isChangingView)
    }
}
