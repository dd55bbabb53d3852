import Cryptography

/// A prepared certificate from an earlier view, with its batch: a new view resets
/// every vote but must keep these, since the next VIEW-CHANGE has to carry them.
struct CarriedCertificate: Hashable, Sendable {
    var certificate: PreparedCertificate
    var batch: Batch
}

/// A request a backup saw from a client (or that a former primary had pending),
/// kept whole so that this replica can propose it if it becomes primary, with the
/// fingerprint that spares a second signature check inside a pre-prepare.
struct AwaitedRequest: Hashable, Sendable {
    var request: ClientRequest
    var fingerprint: SHA256Digest
}

/// A validated VIEW-CHANGE with the batches of its certificates.
struct ReceivedViewChange: Hashable, Sendable {
    var signed: Signed<ViewChange>
    var batches: [Batch]
}

struct SentNewView: Hashable, Sendable {
    var signed: Signed<NewView>
    var batches: [Batch]
}

/// View-change bookkeeping, bounded: one VIEW-CHANGE per member, a few early
/// pre-prepares, one NEW-VIEW.
struct ViewChangeState: Sendable {
    /// False between sending VIEW-CHANGE for `view` and accepting its NEW-VIEW:
    /// no normal-case message is acted on then.
    var active = true
    /// The latest valid VIEW-CHANGE from each member (this one included), for the
    /// NEW-VIEW quorum and for the f+1 rule.
    var received: [ReplicaID: ReceivedViewChange] = [:]
    /// Successive view changes without a block executed in between; the timeouts
    /// are `requestTimeout` doubled per failed view.
    var attempts = 0
    /// The NEW-VIEW this replica sent as primary of `view`, for retransmission.
    var sentNewView: SentNewView?
    /// Pre-prepares from the new primary that arrived before its NEW-VIEW (the
    /// network reorders): replayed once the view is installed, not dropped.
    var early: [(message: Message, sender: ReplicaID)] = []
    static let earlyLimit = 64
    /// The `.viewChange` timer runs only once 2f+1 VIEW-CHANGEs for `view` are in
    /// (TOCS §4.5.2): a replica that timed out alone waits at v+1 for the others
    /// instead of running ahead into views nobody else will join.
    var timerArmed = false
}

extension Replica {
    /// True while a view change to `view` is in progress (after a restart too: the
    /// shell should then arm `.viewChange` with `viewChangeTimeout` and resend
    /// `retransmissions()`).
    public var isChangingView: Bool { !viewChangeState.active }

    /// The timeout for the current wait: `requestTimeout` doubled for each view
    /// change since the last block executed (so successive failed views wait
    /// T, 2T, 4T, ... and a view that works resets it).
    public var viewChangeTimeout: UInt64 {
        let shift = UInt64(min(max(viewChangeState.attempts - 1, 0), 40))
        let (value, overflow) = configuration.requestTimeout.multipliedReportingOverflow(by: 1 << shift)
        return overflow ? UInt64.max : value
    }

    /// This replica's VIEW-CHANGE for `view`: its stable checkpoint proof and, for
    /// every sequence above it, the prepared certificate of the highest view.
    func makeViewChange() -> ReceivedViewChange {
        var certificates: [PreparedCertificate] = []
        var batches: [Batch] = []
        for sequence in log.keys.sorted() where sequence > lowWatermark {
            guard let entry = log[sequence] else { continue }
            if let prepared = entry.prepared, let batch = entry.batch, batch.digest == prepared.digest {
                certificates.append(prepared)
                batches.append(batch)
            } else if let carried = entry.carried {
                certificates.append(carried.certificate)
                batches.append(carried.batch)
            }
        }
        let body = ViewChange(newView: view, checkpoint: stableCheckpoint, prepared: certificates, replica: id)
        return ReceivedViewChange(signed: signer.sign(body), batches: batches)
    }

    // MARK: Starting a view change

    /// Moves to `target` (> view): stop the normal case, keep prepared
    /// certificates and drop every vote, persist the view, then send VIEW-CHANGE.
    mutating func startViewChange(to target: UInt64, now: UInt64, into actions: inout [Action]) {
        guard target > view else { return }
        if batchTimerRunning {
            batchTimerRunning = false
            actions.append(.cancelTimer(.batch))
        }
        if requestTimerRunning {
            requestTimerRunning = false
            actions.append(.cancelTimer(.request))
        }
        stopNormalCase()
        view = target
        viewChangeState.active = false
        viewChangeState.attempts += 1
        viewChangeState.sentNewView = nil
        viewChangeState.early = []
        viewChangeState.received = viewChangeState.received.filter { $0.value.signed.body.newView >= target }
        let own = makeViewChange()
        viewChangeState.received[id] = own
        actions.append(.persist(.movedToView(target)))
        actions.append(.broadcast(.viewChange(own.signed, own.batches)))
        viewChangeState.timerArmed = false
        armViewChangeTimerOnQuorum(into: &actions)
        tryNewView(now: now, into: &actions)
    }

    /// Leaves the normal case of the current view. What this replica would have
    /// proposed as primary must survive in case it becomes primary again: it waits
    /// like any backup's request.
    mutating func stopNormalCase() {
        for request in pending where awaited[request.key] == nil && awaited.count < configuration.maxPendingRequests {
            awaited[request.key] = AwaitedRequest(request: request, fingerprint: Self.fingerprint(request))
        }
        pending = []
        inFlight = []
        resetVotes()
    }

    /// A new view starts with no votes: each entry keeps only its best prepared
    /// certificate (for the next VIEW-CHANGE), and entries without one go.
    mutating func resetVotes() {
        var kept: [UInt64: LogEntry] = [:]
        for (sequence, entry) in log {
            var carried = entry.carried
            if let prepared = entry.prepared, let batch = entry.batch, batch.digest == prepared.digest,
                prepared.view >= (carried?.certificate.view ?? 0)
            {
                carried = CarriedCertificate(certificate: prepared, batch: batch)
            }
            guard let carried else { continue }
            kept[sequence] = LogEntry(carried: carried)
        }
        log = kept
    }

    mutating func armViewChangeTimerOnQuorum(into actions: inout [Action]) {
        guard !viewChangeState.active, !viewChangeState.timerArmed else { return }
        let count = viewChangeState.received.values.filter { $0.signed.body.newView == view }.count
        guard count >= configuration.quorum else { return }
        viewChangeState.timerArmed = true
        actions.append(.setTimer(.viewChange, after: viewChangeTimeout))
    }

    mutating func onViewChangeTimer(now: UInt64, into actions: inout [Action]) {
        viewChangeState.timerArmed = false
        guard !viewChangeState.active else { return }
        startViewChange(to: view + 1, now: now, into: &actions)
    }

    // MARK: VIEW-CHANGE

    mutating func onViewChange(
        _ signed: Signed<ViewChange>, batches: [Batch], now: UInt64, into actions: inout [Action]
    )
        -> RejectReason?
    {
        let body = signed.body
        if body.newView < view || (body.newView == view && viewChangeState.active) {
            // A member still asking for the view we are in missed its NEW-VIEW.
            if body.newView == view, isPrimary, let sent = viewChangeState.sentNewView {
                actions.append(.send(.newView(sent.signed, sent.batches), to: body.replica))
                return nil
            }
            return .wrongView(got: body.newView, current: view)
        }
        if let existing = viewChangeState.received[body.replica] {
            if existing.signed == signed { return .duplicate }
            if existing.signed.body.newView >= body.newView { return .conflictingVote }
        }
        if let reason = validate(signed, batches: batches) { return reason }
        viewChangeState.received[body.replica] = ReceivedViewChange(signed: signed, batches: batches)
        joinIfOthersMovedOn(now: now, into: &actions)
        armViewChangeTimerOnQuorum(into: &actions)
        tryNewView(now: now, into: &actions)
        return nil
    }

    /// f+1 members asking for views above ours include an honest one, so waiting
    /// for our own timer would only delay: join the smallest of those views.
    mutating func joinIfOthersMovedOn(now: UInt64, into actions: inout [Action]) {
        let higher = viewChangeState.received.values
            .filter { $0.signed.body.replica != id && $0.signed.body.newView > view }
            .map(\.signed.body.newView)
        guard higher.count >= configuration.f + 1, let smallest = higher.min() else { return }
        startViewChange(to: smallest, now: now, into: &actions)
    }

    /// Checks everything a VIEW-CHANGE claims: its signature, its checkpoint proof,
    /// and each prepared certificate (views below the new view, sequences strictly
    /// increasing inside the window above the checkpoint, every signature).
    /// `batches` is nil for the VIEW-CHANGEs inside a NEW-VIEW, which carry none.
    func validate(_ signed: Signed<ViewChange>, batches: [Batch]?) -> RejectReason? {
        let body = signed.body
        func invalid(_ reason: String) -> RejectReason { .invalidViewChange(replica: body.replica, reason: reason) }
        guard configuration.key(of: body.replica) != nil else { return .unknownSender }
        let proof = body.checkpoint
        guard proof.sequence % configuration.checkpointInterval == 0 else { return .notCheckpointSequence(proof.sequence) }
        let (high, overflow) = proof.sequence.addingReportingOverflow(configuration.logWindow)
        var previous = proof.sequence
        for certificate in body.prepared {
            guard certificate.sequence > previous else { return invalid("certificates not in increasing sequence order") }
            guard overflow || certificate.sequence <= high else {
                return invalid("certificate for n\(certificate.sequence) above the window of n\(proof.sequence)")
            }
            guard certificate.view < body.newView else { return invalid("certificate of view \(certificate.view)") }
            previous = certificate.sequence
        }
        if let batches {
            guard batches.count == body.prepared.count else {
                return invalid("\(batches.count) batches for \(body.prepared.count) certificates")
            }
            for (batch, certificate) in zip(batches, body.prepared) {
                if let reason = batchReason(batch, digest: certificate.digest) { return reason }
            }
        }
        guard verifier.verify(signed, in: configuration) else { return .badSignature }
        do {
            try proof.verify(against: configuration, genesisStateRoot: genesisStateRoot, verifier: verifier)
            for certificate in body.prepared { try certificate.verify(against: configuration, verifier: verifier) }
        } catch {
            return .invalidProof(error)
        }
        return nil
    }

    func batchReason(_ batch: Batch, digest: SHA256Digest) -> RejectReason? {
        let bytes = batch.requests.reduce(0) { $0 + $1.encodedSize }
        guard batch.requests.count <= configuration.batch.maxRequests, bytes <= configuration.batch.maxBytes else {
            return .batchTooLarge(requests: batch.requests.count, bytes: bytes)
        }
        return batch.digest == digest ? nil : .digestMismatch
    }

    // MARK: NEW-VIEW

    /// As primary of `view`: once 2f+1 valid VIEW-CHANGEs (its own among them) are
    /// in, compute O over all of them and start the view.
    mutating func tryNewView(now: UInt64, into actions: inout [Action]) {
        guard !viewChangeState.active, isPrimary, viewChangeState.received[id]?.signed.body.newView == view else { return }
        let set = viewChangeState.received.values
            .filter { $0.signed.body.newView == view }
            .sorted { $0.signed.body.replica < $1.signed.body.replica }
        guard set.count >= configuration.quorum,
            let plan = NewViewComputation.plan(set.map(\.signed.body), configuration: configuration)
        else { return }
        var known: [SHA256Digest: Batch] = [:]
        for change in set {
            for batch in change.batches { known[batch.digest] = batch }
        }
        var prePrepares: [Signed<PrePrepare>] = []
        var batches: [Batch] = []
        for slot in plan.slots {
            // Every certificate in V came with its batch (checked on receipt).
            guard let batch = slot.isNull ? NewViewComputation.nullBatch : known[slot.digest] else { return }
            prePrepares.append(signer.sign(PrePrepare(view: view, sequence: slot.sequence, digest: slot.digest, replica: id)))
            batches.append(batch)
        }
        let newView = signer.sign(
            NewView(view: view, viewChanges: set.map(\.signed), prePrepares: prePrepares, replica: id))
        install(plan, prePrepares: prePrepares, batches: batches, into: &actions)
        viewChangeState.sentNewView = SentNewView(signed: newView, batches: batches)
        actions.append(.broadcast(.newView(newView, batches)))
        resumeNormalCase(now: now, into: &actions)
    }

    /// A backup accepts NEW-VIEW only if V is 2f+1 or more valid VIEW-CHANGEs for
    /// that view from distinct members and O is exactly what V yields.
    mutating func onNewView(_ signed: Signed<NewView>, batches: [Batch], now: UInt64, into actions: inout [Action])
        -> RejectReason?
    {
        let body = signed.body
        func invalid(_ reason: String) -> RejectReason { .invalidNewView(reason) }
        if body.view < view || (body.view == view && viewChangeState.active) {
            return body.view == view ? .duplicate : .wrongView(got: body.view, current: view)
        }
        let primary = configuration.primary(of: body.view)
        guard body.replica == primary else { return .notFromPrimary(primary: primary) }
        var previous: ReplicaID?
        for change in body.viewChanges {
            guard change.body.newView == body.view else { return invalid("V holds a VIEW-CHANGE for view \(change.body.newView)") }
            // Strictly increasing members: one vote per member, never counted twice.
            if let previous, change.body.replica <= previous { return invalid("V names \(change.body.replica) twice or out of order") }
            previous = change.body.replica
        }
        guard body.viewChanges.count >= configuration.quorum else {
            return invalid("V has \(body.viewChanges.count) VIEW-CHANGEs, needs \(configuration.quorum)")
        }
        guard batches.count == body.prePrepares.count else {
            return invalid("\(batches.count) batches for \(body.prePrepares.count) pre-prepares")
        }
        guard let plan = NewViewComputation.plan(body.viewChanges.map(\.body), configuration: configuration) else {
            return invalid("no checkpoint in V has a weak certificate")
        }
        guard plan.slots.count == body.prePrepares.count else {
            return invalid("O has \(body.prePrepares.count) pre-prepares, V yields \(plan.slots.count)")
        }
        for (slot, prePrepare) in zip(plan.slots, body.prePrepares) {
            let expected = PrePrepare(view: body.view, sequence: slot.sequence, digest: slot.digest, replica: primary)
            guard prePrepare.body == expected else { return invalid("O differs from V at n\(slot.sequence)") }
        }
        for (batch, prePrepare) in zip(batches, body.prePrepares) {
            if let reason = batchReason(batch, digest: prePrepare.body.digest) { return reason }
        }
        // Signatures last: the structural checks above cost nothing.
        guard verifier.verify(signed, in: configuration) else { return .badSignature }
        for change in body.viewChanges {
            if let reason = validate(change, batches: nil) { return reason }
        }
        for prePrepare in body.prePrepares where !verifier.verify(prePrepare, in: configuration) {
            return invalid("pre-prepare n\(prePrepare.body.sequence) signature does not verify")
        }
        for (batch, prePrepare) in zip(batches, body.prePrepares) where !batch.requests.isEmpty {
            for (index, request) in batch.requests.enumerated() {
                guard let client = configuration.clients[request.client], client.kind == request.kind,
                    request.payload.count <= configuration.maxPayloadBytes
                else {
                    return .invalidRequestInBatch(index: index, reason: "n\(prePrepare.body.sequence): not an authorized request")
                }
                if let seen = awaited[request.key], seen.fingerprint == Self.fingerprint(request) { continue }
                guard verifier.verify(request, key: client.publicKey) else {
                    return .invalidRequestInBatch(index: index, reason: "n\(prePrepare.body.sequence): signature does not verify")
                }
            }
        }
        if body.view > view {
            // Skipped a view (NEW-VIEW proves 2f+1 moved): no VIEW-CHANGE of our own needed.
            stopNormalCase()
            view = body.view
        }
        install(plan, prePrepares: body.prePrepares, batches: batches, into: &actions)
        resumeNormalCase(now: now, into: &actions)
        return nil
    }

    /// Starts the normal case of `view` from O: min-s becomes the low watermark
    /// (so fresh pre-prepares above the old window are not dropped), and each
    /// pre-prepare of O is accepted like any other, prepared (backups) and
    /// persisted first. Sequences executed already are voted on again (others may
    /// need them) but never executed twice: dispatch only moves forward.
    mutating func install(
        _ plan: NewViewPlan, prePrepares: [Signed<PrePrepare>], batches: [Batch], into actions: inout [Action]
    ) {
        viewChangeState.active = true
        viewChangeState.received = viewChangeState.received.filter { $0.value.signed.body.newView > view }
        viewChangeState.timerArmed = false
        actions.append(.cancelTimer(.viewChange))
        actions.append(.persist(.enteredView(view)))
        if plan.checkpoint.sequence > lowWatermark {
            adoptCheckpoint(plan.checkpoint, into: &actions)
        }
        for (prePrepare, batch) in zip(prePrepares, batches) {
            let sequence = prePrepare.body.sequence
            guard sequence > lowWatermark else { continue }
            var entry = log[sequence] ?? LogEntry()
            entry.prePrepare = prePrepare
            entry.batch = batch
            // Votes for this view that arrived before the NEW-VIEW stay; any other is gone.
            entry.prepares = entry.prepares.filter { $0.value.body.view == view && $0.value.body.digest == prePrepare.body.digest }
            entry.commits = entry.commits.filter { $0.value.body.view == view }
            var prepare: Signed<Prepare>?
            if !isPrimary {
                let vote = signer.sign(Prepare(view: view, sequence: sequence, digest: prePrepare.body.digest, replica: id))
                entry.prepares[id] = vote
                prepare = vote
            }
            log[sequence] = entry
            actions.append(.persist(.prePrepared(AcceptedPrePrepare(prePrepare: prePrepare, batch: batch))))
            if let prepare { actions.append(.broadcast(.prepare(prepare))) }
            lastBatchTimestamp = max(lastBatchTimestamp, batch.timestamp)
        }
        lastAssigned = max(plan.maxSequence, lowWatermark, lastDispatched)
        for prePrepare in prePrepares { checkPrepared(prePrepare.body.sequence, into: &actions) }
    }

    /// min-s of the new view. Adopted even when this replica has not executed that
    /// far (it then catches up by state transfer, as the notice says): the window
    /// must be the one every other member of the view uses.
    mutating func adoptCheckpoint(_ proof: CheckpointProof, into actions: inout [Action]) {
        let local = proof.sequence == lastExecuted ? lastExecutedStateRoot : ownCheckpoints[proof.sequence]
        if let local, local != proof.stateRoot {
            actions.append(.notice(.stateDivergence(sequence: proof.sequence, local: local, agreed: proof.stateRoot)))
        }
        makeStable(proof, now: 0, propose: false, into: &actions)
        if lastDispatched < proof.sequence, proof.sequence > reportedBehind {
            reportedBehind = proof.sequence
            actions.append(.notice(.behindStableCheckpoint(proof, lastExecuted: lastExecuted)))
        }
    }

    /// After installing a view: the primary proposes what is waiting (requests not
    /// already in O), backups watch their requests again with the backed-off timer,
    /// and pre-prepares that arrived early are replayed.
    mutating func resumeNormalCase(now: UInt64, into actions: inout [Action]) {
        if isPrimary {
            var ordered = Set<RequestKey>()
            for sequence in log.keys where sequence > lastDispatched {
                for request in log[sequence]?.batch?.requests ?? [] { ordered.insert(request.key) }
            }
            pending = awaited.values.map(\.request)
                .filter { !ordered.contains($0.key) && $0.requestID > (clients[$0.client]?.lastDispatched ?? 0) }
                .sorted { ($0.client, $0.requestID) < ($1.client, $1.requestID) }
            inFlight = ordered.union(pending.map(\.key))
            awaited = [:]
            if requestTimerRunning {
                requestTimerRunning = false
                actions.append(.cancelTimer(.request))
            }
            if !pending.isEmpty {
                proposeBatches(now: now, force: true, into: &actions)
            }
        } else if !awaited.isEmpty {
            requestTimerRunning = true
            actions.append(.setTimer(.request, after: viewChangeTimeout))
        }
        let early = viewChangeState.early
        viewChangeState.early = []
        for (message, sender) in early {
            onMessage(message, from: .replica(sender), now: now, into: &actions)
        }
    }

    /// Holds a pre-prepare of the view being changed to until its NEW-VIEW arrives
    /// (nil: held); anything else normal-case is refused while the view changes.
    mutating func holdEarly(_ message: Message, from sender: ReplicaID) -> RejectReason? {
        guard case let .prePrepare(signed, _) = message, signed.body.view == view,
            sender == configuration.primary(of: view), viewChangeState.early.count < ViewChangeState.earlyLimit
        else { return .viewChangeInProgress }
        if viewChangeState.early.contains(where: { $0.message == message }) { return .duplicate }
        viewChangeState.early.append((message, sender))
        return nil
    }
}
