import Cryptography
import Testing

@testable import PBFT

@Suite struct NormalCaseTests {
    /// Submits `count` requests (to every replica), firing the batch timer after
    /// each group, and runs the network to quiescence.
    static func drive(_ network: inout Network, requests count: Int, perRound: Int = 3, client: ClientID = Keys.exchangeID) {
        var next: UInt64 = 1
        while next <= UInt64(count) {
            for _ in 0..<perRound where next <= UInt64(count) {
                network.submit(network.setup.request(next, client: client))
                next += 1
            }
            network.run()
            network.fire(.batch)
            network.run()
        }
    }

    @Test func fourReplicasWithEd25519CommitAndExecuteTheSameBatches() throws {
        let counter = VerifyCounter()
        var setup = TestSetup(n: 4, fast: false)
        setup.counter = counter
        let seed: UInt64 = 42
        var network = try Network(setup, seed: seed)
        Self.drive(&network, requests: 12)
        let digests = try #require(network.agreedDigests(), "seed \(seed)")
        #expect(!digests.isEmpty, "seed \(seed)")
        let executed = network.nodes[0].executed.flatMap(\.requests).map(\.requestID)
        #expect(executed == Array(1...12), "seed \(seed)")
        for node in network.nodes {
            #expect(node.executed.map(\.sequence) == Array(1...UInt64(digests.count)), "seed \(seed)")
            #expect(node.rejections.isEmpty, "seed \(seed): \(node.rejections)")
            for block in node.executed {
                try block.certificate.verify(against: network.configuration)
            }
        }
        // Budget: per block each replica verifies the pre-prepare (backups), each
        // request once, and at most one prepare and one commit per other member.
        let blocks = digests.count
        let n = network.configuration.n
        let bound = n * (blocks * (1 + 2 * (n - 1))) + n * 12
        #expect(counter.value <= bound, "verified \(counter.value) for \(blocks) blocks")

        // The client accepts once f+1 replicas replied the same.
        var tracker = ClientRequestTracker(configuration: network.configuration)
        for id in 1...12 { tracker.track(RequestKey(client: Keys.exchangeID, requestID: UInt64(id))) }
        var accepted = 0
        for (to, reply) in network.replies where to == Keys.exchangeID {
            if case .accepted = tracker.handle(reply, from: reply.body.replica) { accepted += 1 }
        }
        #expect(accepted == 12)
        #expect(tracker.outstandingCount == 0)
    }

    @Test(arguments: [UInt64(1), 7, 99, 1234, 0xDEAD_BEEF])
    func sevenReplicasAgreeUnderSeededReordering(seed: UInt64) throws {
        var network = try Network(TestSetup(n: 7, fast: true), seed: seed)
        Self.drive(&network, requests: 40, perRound: 5)
        let digests = try #require(network.agreedDigests(), "seed \(seed)")
        #expect(network.nodes[0].executed.flatMap(\.requests).count == 40, "seed \(seed)")
        #expect(digests.count >= 10, "seed \(seed)")
        for node in network.nodes {
            #expect(node.rejections.allSatisfy { if case .outsideWatermarks = $0.reason { true } else { false } }, "seed \(seed): \(node.rejections)")
            #expect(node.executions.values.allSatisfy { $0 == 1 }, "seed \(seed)")
        }
    }

    @Test func batchesAreCutBySizeAndByTimer() throws {
        var fixture = try Fixture(id: 0)  // the primary of view 0
        // maxRequests is 4: three requests wait for the timer.
        var actions: [Action] = []
        for id in 1...3 { actions += fixture.request(fixture.setup.request(UInt64(id))) }
        #expect(actions.broadcasts.isEmpty)
        #expect(actions.contains(.setTimer(.batch, after: 1_000)))
        // The fourth fills the batch: one pre-prepare with four requests, timer cancelled.
        actions = fixture.request(fixture.setup.request(4))
        guard case let .prePrepare(header, batch)? = actions.broadcasts.first else {
            Issue.record("no pre-prepare: \(actions)")
            return
        }
        #expect(batch.requests.map(\.requestID) == [1, 2, 3, 4])
        #expect(header.body.sequence == 1)
        #expect(actions.contains(.cancelTimer(.batch)))
        // Persisted before it is sent.
        let persistIndex = try #require(actions.firstIndex { if case .persist = $0 { true } else { false } })
        let sendIndex = try #require(actions.firstIndex { if case .broadcast = $0 { true } else { false } })
        #expect(persistIndex < sendIndex)
        // One request, then the timer: a batch of one stamped with the timer's time.
        _ = fixture.request(fixture.setup.request(5))
        actions = fixture.replica.handle(.timerFired(.batch, now: 9_999))
        guard case let .prePrepare(header2, batch2)? = actions.broadcasts.first else {
            Issue.record("no pre-prepare after the timer: \(actions)")
            return
        }
        #expect(batch2.requests.map(\.requestID) == [5])
        #expect(batch2.timestamp == 9_999)
        #expect(header2.body.sequence == 2)
    }

    @Test func batchesAreCutByBytes() throws {
        var setup = TestSetup(n: 4, fast: true)
        setup.batch = BatchPolicy(maxRequests: 100, maxBytes: 5_000, timeout: 1_000)
        let configuration = try setup.configuration()
        var primary = Replica(configuration: configuration, id: ReplicaID(0), signer: setup.signer(0), verifier: setup.verifier())
        var batches: [Batch] = []
        for id in 1...6 {
            let request = setup.request(UInt64(id), payload: [UInt8](repeating: 1, count: 2_000))
            for message in primary.handle(.clientRequest(request, now: 1)).broadcasts {
                if case let .prePrepare(_, batch) = message { batches.append(batch) }
            }
        }
        // Each request encodes to 2,081 bytes: two fit under 5,000, a third does not,
        // so a batch is cut when the third arrives; the last two wait for the timer.
        #expect(batches.map(\.requests.count) == [2, 2])
        for message in primary.handle(.timerFired(.batch, now: 2)).broadcasts {
            if case let .prePrepare(_, batch) = message { batches.append(batch) }
        }
        #expect(batches.map(\.requests.count) == [2, 2, 2])
        for batch in batches { #expect(batch.requests.reduce(0) { $0 + $1.encodedSize } <= 5_000) }
    }
}
