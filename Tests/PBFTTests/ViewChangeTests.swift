import Cryptography
import Testing

@testable import PBFT

/// View change end to end over the in-test network, and NEW-VIEW validation on a
/// single replica with hand-built messages.
@Suite struct ViewChangeTests {
    static func setup() -> TestSetup {
        var setup = TestSetup(n: 4, fast: true, checkpointInterval: 4, logWindow: 8)
        setup.batch = BatchPolicy(maxRequests: 2, maxBytes: 1 << 20, timeout: 1_000)
        return setup
    }

    static func isPrePrepare(_ message: Message) -> Bool {
        if case .prePrepare = message { return true }
        return false
    }

    static func isCommit(_ message: Message) -> Bool {
        if case .commit = message { return true }
        return false
    }

    static func submit(_ network: inout Network, _ ids: ClosedRange<UInt64>) {
        for id in ids {
            network.submit(network.setup.request(id), to: network.nodes.indices.filter { !network.crashed.contains($0) })
        }
        network.run()
        network.fire(.batch)
        network.run()
    }

    /// Fires request timers (and, if a NEW-VIEW does not come, view-change timers)
    /// until no live replica is changing view.
    static func changeView(_ network: inout Network) {
        network.fire(.request)
        network.run()
        for _ in 0..<4 {
            let live = network.nodes.indices.filter { !network.crashed.contains($0) }
            guard live.contains(where: { network.nodes[$0].replica.isChangingView }) else { return }
            network.fire(.viewChange)
            network.run()
        }
    }

    /// Every live replica executed `ids` exactly once, in the same order, with valid certificates.
    static func checkExecutedOnce(_ network: Network, _ ids: ClosedRange<UInt64>, _ note: String) throws {
        let live = network.nodes.indices.filter { !network.crashed.contains($0) }
        let reference = network.nodes[live[0]].executed.map(\.digest)
        for index in live {
            let node = network.nodes[index]
            #expect(node.executed.map(\.digest) == reference, "\(note): replica \(index) diverged")
            #expect(node.executed.map(\.sequence) == Array(stride(from: 1, through: UInt64(node.executed.count), by: 1)), "\(note)")
            let executed = node.executed.flatMap(\.requests).map(\.requestID)
            #expect(executed.sorted() == Array(ids), "\(note): replica \(index) executed \(executed)")
            #expect(node.executions.values.allSatisfy { $0 == 1 }, "\(note): replica \(index) executed a request twice")
            for block in node.executed {
                try block.certificate.verify(against: network.configuration, verifier: network.setup.verifier())
            }
            // Checkpoints certify executed state, never the proposal counter.
            let stable = node.replica.stableCheckpoint
            #expect(stable.sequence <= node.replica.lastExecuted, "\(note)")
            if stable.sequence > 0 { #expect(node.stateRoots[stable.sequence] == stable.stateRoot, "\(note)") }
        }
    }

    // MARK: Crashed, silent and equivocating primaries

    @Test(arguments: [UInt64(1), 2, 3])
    func primaryCrashDuringPrepare(seed: UInt64) throws {
        var network = try Network(Self.setup(), seed: seed)
        Self.submit(&network, 1...2)
        // The pre-prepare for 3 and 4 reaches replicas 1 and 2 only; then replica 0 crashes.
        network.filter = { from, to, message in
            if from.rawValue == 0 { return Self.isPrePrepare(message) && to.rawValue != 3 }
            return to.rawValue != 0
        }
        Self.submit(&network, 3...4)
        network.crashed = [0]
        network.filter = nil
        #expect(network.nodes[1].replica.lastExecuted == 1, "seed \(seed)")
        Self.changeView(&network)
        for index in 1...3 {
            #expect(network.nodes[index].replica.view == 1 && !network.nodes[index].replica.isChangingView, "seed \(seed)")
        }
        Self.submit(&network, 5...6)
        try Self.checkExecutedOnce(network, 1...6, "seed \(seed)")
        // The view worked: the back-off is reset.
        #expect(network.nodes[2].replica.viewChangeTimeout == network.configuration.requestTimeout)
    }

    @Test(arguments: [UInt64(4), 5, 6])
    func primaryCrashDuringCommit(seed: UInt64) throws {
        var network = try Network(Self.setup(), seed: seed)
        Self.submit(&network, 1...2)
        // Everyone prepares 3 and 4; the commits never reach replica 3; replica 0 crashes.
        network.filter = { from, to, message in
            if from.rawValue == 0 { return Self.isPrePrepare(message) }
            if to.rawValue == 0 { return false }
            return !(Self.isCommit(message) && to.rawValue == 3)
        }
        Self.submit(&network, 3...4)
        network.crashed = [0]
        network.filter = nil
        #expect(network.nodes[1].replica.lastExecuted == 2, "seed \(seed)")
        #expect(network.nodes[3].replica.lastExecuted == 1, "seed \(seed)")
        // Only replica 3 waits for 3 and 4; 5 and 6 make everyone suspect replica 0.
        Self.submit(&network, 5...6)
        Self.changeView(&network)
        try Self.checkExecutedOnce(network, 1...6, "seed \(seed)")
    }

    /// Known bug: a batch decided in view 0 and re-proposed by O in view 1 must not
    /// execute again where it already ran.
    @Test func aDecidedBatchReproposedAfterViewChangeExecutesOnce() throws {
        var network = try Network(Self.setup(), seed: 9)
        network.filter = { from, to, message in
            if from.rawValue == 0 { return Self.isPrePrepare(message) }
            if to.rawValue == 0 { return false }
            return !(Self.isCommit(message) && to.rawValue == 3)
        }
        Self.submit(&network, 1...2)
        network.crashed = [0]
        network.filter = nil
        #expect(network.nodes[1].executed.count == 1 && network.nodes[3].executed.isEmpty)
        Self.submit(&network, 3...3)
        Self.changeView(&network)
        // O of view 1 re-proposed sequence 1 with the same digest; 1 and 2 voted again
        // but executed it once; 3 executed it for the first time.
        let reproposed = network.nodes[1].replica.log[1]?.prePrepare?.body
        #expect(reproposed == nil || reproposed?.view == 1)
        #expect(network.nodes[1].executed.first?.view == 0 && network.nodes[2].executed.first?.view == 0)
        #expect(network.nodes[3].executed.first?.view == 1)
        try Self.checkExecutedOnce(network, 1...3, "seed 9")
        for index in 1...3 {
            #expect(network.nodes[index].executed.filter { $0.sequence == 1 }.count == 1, "replica \(index)")
        }
    }

    @Test(arguments: [UInt64(7), 8])
    func silentPrimary(seed: UInt64) throws {
        var network = try Network(Self.setup(), seed: seed)
        network.filter = { from, _, _ in from.rawValue != 0 }
        Self.submit(&network, 1...3)
        #expect(network.nodes[1].executed.isEmpty)
        Self.changeView(&network)
        Self.submit(&network, 4...5)
        network.crashed = [0]
        try Self.checkExecutedOnce(network, 1...5, "seed \(seed)")
        #expect(network.nodes[1].replica.isPrimary)
    }

    @Test(arguments: [UInt64(10), 11, 12])
    func equivocatingPrimary(seed: UInt64) throws {
        let setup = Self.setup()
        var network = try Network(setup, seed: seed)
        // Replica 0 keeps one batch for itself and replica 1 and shows replicas 2 and 3
        // another: 2 and 3 prepare theirs, nobody commits, the view must change.
        let signer = setup.signer(0)
        network.tamper = { from, to, message in
            guard from.rawValue == 0, to.rawValue >= 2, case let .prePrepare(signed, batch) = message else { return message }
            let other = Batch(timestamp: batch.timestamp &+ 1, requests: batch.requests)
            var header = signed.body
            header.digest = other.digest
            return .prePrepare(signer.sign(header), other)
        }
        Self.submit(&network, 1...2)
        #expect(network.nodes[1].executed.isEmpty, "seed \(seed)")
        Self.changeView(&network)
        network.tamper = nil
        Self.submit(&network, 3...4)
        // Replica 0 is byzantine: only the honest ones are checked.
        network.crashed = [0]
        try Self.checkExecutedOnce(network, 1...4, "seed \(seed)")
        for index in 1...3 { #expect(network.nodes[index].replica.view >= 1, "seed \(seed)") }
    }

    /// The old primary, cut off while the others changed view, learns the view from
    /// the new primary's retransmitted NEW-VIEW, catches up from certified blocks, and
    /// takes part again; a member asking for the current view is sent the NEW-VIEW.
    @Test(arguments: [UInt64(14), 15])
    func aCutOffPrimaryRejoinsTheNewView(seed: UInt64) throws {
        var network = try Network(Self.setup(), seed: seed)
        network.filter = { from, to, _ in from.rawValue != 0 && to.rawValue != 0 }
        Self.submit(&network, 1...3)
        Self.changeView(&network)
        Self.submit(&network, 4...5)
        network.filter = nil
        SafetySweepTests.heal(&network, requests: 5)
        #expect(network.nodes[0].replica.view == 1 && !network.nodes[0].replica.isChangingView, "seed \(seed)")
        Self.submit(&network, 6...7)
        try Self.checkExecutedOnce(network, 1...7, "seed \(seed)")

        // A VIEW-CHANGE for the view already installed is answered with its NEW-VIEW.
        let late = network.setup.sign(
            ViewChange(newView: 1, checkpoint: .genesis(stateRoot: .zero), prepared: [], replica: ReplicaID(3)))
        let actions = network.nodes[1].replica.handle(.message(.viewChange(late, []), from: .replica(ReplicaID(3)), now: 1))
        #expect(actions.contains { if case .send(.newView, to: ReplicaID(3)) = $0 { true } else { false } })
    }

    @Test func restartAfterViewChangeStaysInTheNewView() throws {
        var network = try Network(Self.setup(), seed: 13)
        network.crashed = [0]
        Self.submit(&network, 1...2)
        Self.changeView(&network)
        network.restart(2)
        #expect(network.nodes[2].replica.view == 1 && !network.nodes[2].replica.isChangingView)
        // A view-0 message is refused after the restart.
        let stale = network.setup.sign(Prepare(view: 0, sequence: 3, digest: .zero, replica: ReplicaID(3)))
        let actions = network.nodes[2].replica.handle(.message(.prepare(stale), from: .replica(ReplicaID(3)), now: 1))
        #expect(actions.rejections == [.wrongView(got: 0, current: 1)])
        Self.submit(&network, 3...4)
        try Self.checkExecutedOnce(network, 1...4, "seed 13")
    }

    @Test func restartDuringViewChangeKeepsTheView() throws {
        var fixture = try Fixture(n: 4, id: 2, checkpointInterval: 4, logWindow: 8)
        var state = DurableState()
        var actions = fixture.request(fixture.setup.request(1))
        actions += fixture.replica.handle(.timerFired(.request, now: 10))
        for record in actions.persists { state.apply(record) }
        #expect(actions.persists.contains(.movedToView(1)))
        fixture.replica = Replica(
            restoringFrom: state, configuration: fixture.configuration, id: fixture.replica.id,
            signer: fixture.setup.signer(2), verifier: fixture.setup.verifier())
        #expect(fixture.replica.view == 1 && fixture.replica.isChangingView)
        // It resends its VIEW-CHANGE for view 1, and takes no view-0 pre-prepare.
        #expect(fixture.replica.retransmissions().broadcasts.contains { if case .viewChange = $0 { true } else { false } })
        actions = fixture.receive(fixture.prePrepare(1, fixture.batch([1])), from: 0)
        #expect(actions.rejections == [.viewChangeInProgress])
    }

    // MARK: Liveness rules

    @Test func fPlusOneViewChangesForHigherViewsMakeAReplicaJoin() throws {
        var fixture = try Fixture(n: 4, id: 3, checkpointInterval: 4, logWindow: 8)
        let genesis = CheckpointProof.genesis(stateRoot: .zero)
        func viewChange(_ view: UInt64, from: Int) -> Message {
            .viewChange(
                fixture.setup.sign(ViewChange(newView: view, checkpoint: genesis, prepared: [], replica: ReplicaID(UInt16(from)))), [])
        }
        var actions = fixture.receive(viewChange(3, from: 1), from: 1)
        #expect(actions.rejections.isEmpty && fixture.replica.view == 0)
        actions = fixture.receive(viewChange(2, from: 2), from: 2)
        // f+1 = 2 members want views above 0: join the smallest, 2.
        #expect(fixture.replica.view == 2 && fixture.replica.isChangingView)
        let sent = actions.broadcasts.compactMap { if case let .viewChange(m, _) = $0 { m.body.newView } else { nil } }
        #expect(sent == [2])
        #expect(actions.persists.contains(.movedToView(2)))
    }

    @Test func backoffDoublesAcrossFailedViews() throws {
        // n = 7, so that views 1 to 3 all have another primary than replica 6.
        var fixture = try Fixture(n: 7, id: 6, checkpointInterval: 4, logWindow: 8)
        let base = fixture.configuration.requestTimeout
        let genesis = CheckpointProof.genesis(stateRoot: .zero)
        // The timer for a view runs once 2f+1 VIEW-CHANGEs for it are in (own included).
        func othersAgree(_ view: UInt64) -> [Action] {
            var actions: [Action] = []
            for from in 0..<4 {
                let change = fixture.setup.sign(
                    ViewChange(newView: view, checkpoint: genesis, prepared: [], replica: ReplicaID(UInt16(from))))
                actions += fixture.receive(.viewChange(change, []), from: from)
            }
            return actions
        }
        _ = fixture.request(fixture.setup.request(1))
        var actions = fixture.replica.handle(.timerFired(.request, now: 10))
        #expect(fixture.replica.view == 1)
        #expect(!actions.contains { if case .setTimer(.viewChange, _) = $0 { true } else { false } })
        actions = othersAgree(1)
        #expect(actions.contains(.setTimer(.viewChange, after: base)))
        for (view, timeout) in [(UInt64(2), 2 * base), (3, 4 * base)] {
            actions = fixture.replica.handle(.timerFired(.viewChange, now: 20))
            #expect(fixture.replica.view == view)
            actions += othersAgree(view)
            #expect(actions.contains(.setTimer(.viewChange, after: timeout)), "view \(view)")
        }
        // A view that executes a block resets it: checked end to end in primaryCrashDuringPrepare.
    }

    @Test func backupsForwardClientRequestsToThePrimary() throws {
        var fixture = try Fixture(n: 4, id: 2)
        let request = fixture.setup.request(1)
        let actions = fixture.request(request)
        #expect(actions.contains(.send(.request(request), to: ReplicaID(0))))
        // A forwarded copy at the primary is taken once, without a rejection for the second.
        var primary = try Fixture(n: 4, id: 0)
        var first = primary.replica.handle(.message(.request(request), from: .replica(ReplicaID(2)), now: 1))
        first += primary.replica.handle(.clientRequest(request, now: 2))
        #expect(first.rejections == [.alreadyInProgress])
        let again = primary.replica.handle(.message(.request(request), from: .replica(ReplicaID(3)), now: 3))
        #expect(again.isEmpty)
    }
}
