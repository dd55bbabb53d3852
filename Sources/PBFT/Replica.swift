import Cryptography

/// One sequence number's messages in the current window (h, h + L]. At most one
/// vote per replica is kept, so an entry holds at most 2n + 1 signed messages.
struct LogEntry: Sendable {
    var prePrepare: Signed<PrePrepare>?
    var batch: Batch?
    var prepares: [ReplicaID: Signed<Prepare>] = [:]
    var commits: [ReplicaID: Signed<Commit>] = [:]
    /// Prepared certificate, once this replica has it (it then sent its commit).
    var prepared: PreparedCertificate?
    var committed = false
    /// The highest-view prepared certificate from an earlier view (see view change).
    var carried: CarriedCertificate?
}

/// Per-client exactly-once bookkeeping. Bounded by the genesis client list and
/// `repliesCachedPerClient`.
struct ClientRecord: Sendable {
    /// Highest request id handed to the shell for execution.
    var lastDispatched: UInt64 = 0
    /// Most recent replies, oldest first, for retransmission.
    var replies: [Signed<Reply>] = []
}

/// A block handed to the shell and not yet reported executed.
struct DispatchedBlock: Sendable {
    var view: UInt64
    var sequence: UInt64
    var requests: [RequestKey]
}

/// Sizes of everything that grows with traffic; what the flat-memory test watches.
public struct ReplicaFootprint: Hashable, Sendable {
    public var logEntries: Int
    public var storedVotes: Int
    public var checkpointSequences: Int
    public var pendingRequests: Int
    public var awaitedRequests: Int
    public var dispatchedBlocks: Int
    public var cachedReplies: Int
}

/// The PBFT replica (Castro & Liskov) as a value: `handle(_:)` takes one event and
/// returns the actions for the shell. No I/O, no clock, no randomness, so the same
/// inputs give the same outputs in tests, in the simulator and in a node process.
///
/// The shell's side of the contract:
/// - Feed events one at a time and carry out the returned actions in order. A
///   `.persist` must be durable (fsync) before any later send, broadcast or reply
///   in the same list leaves the process.
/// - `.broadcast` goes to every other member; never deliver a replica's own
///   messages back to it.
/// - Execute `.execute` blocks in the order given, store each with its
///   certificate, update `DurableState.noteExecuted`, then report
///   `.executed(sequence, stateRoot, results)` in the same order. The state root is
///   what checkpoints certify, so it must be the ledger's root after that block.
/// - Timers: `.setTimer` (re)arms, `.cancelTimer` disarms; deliver `.timerFired`
///   with the current time. All `now` values are the shell's clock.
/// - On restart, rebuild `DurableState` from the persisted records plus the block
///   store and use `init(restoringFrom:)`; then catch up with `.certifiedBlock` and
///   `.checkpointProof` from peers.
///
/// View change (TOCS 2002 §4.4) lives in `Replica+ViewChange.swift`: on the
/// request timer a backup moves to the next view and sends VIEW-CHANGE; the new
/// primary sends NEW-VIEW with O computed by `NewViewComputation`.
public struct Replica: Sendable {
    public let configuration: Configuration
    public let id: ReplicaID
    let signer: any MessageSigner
    let verifier: any SignatureVerifier

    public internal(set) var view: UInt64
    /// Stable checkpoint with its 2f+1 proof; its sequence is the low watermark h.
    public private(set) var stableCheckpoint: CheckpointProof
    public private(set) var lastExecuted: UInt64
    public private(set) var lastExecutedStateRoot: SHA256Digest
    /// Highest sequence handed to the shell for execution (>= lastExecuted).
    public private(set) var lastDispatched: UInt64
    /// Highest sequence this replica assigned as primary.
    var lastAssigned: UInt64
    var lastBatchTimestamp: UInt64 = 0

    var log: [UInt64: LogEntry] = [:]
    var checkpointVotes: [UInt64: [ReplicaID: Signed<Checkpoint>]] = [:]
    /// This replica's own state roots at checkpoint sequences above h.
    var ownCheckpoints: [UInt64: SHA256Digest] = [:]
    var clients: [ClientID: ClientRecord] = [:]

    /// Primary: verified requests waiting for a batch, FIFO.
    var pending: [ClientRequest] = []
    /// Primary: requests pending or proposed and not yet dispatched.
    var inFlight: Set<RequestKey> = []
    var batchTimerRunning = false
    /// Backup: verified requests seen from clients and not yet executed, with a
    /// fingerprint of the exact signed request, so that the same request inside a
    /// pre-prepare is not verified a second time.
    var awaited: [RequestKey: AwaitedRequest] = [:]
    var requestTimerRunning = false
    var dispatched: [DispatchedBlock] = []
    /// Checkpoints above our execution that 2f+1 agreed on (already reported).
    var reportedBehind: UInt64 = 0
    /// Our own vote for the stable checkpoint, kept after GC so that a member whose
    /// window lags (it lost checkpoint votes in a crash) can still make it stable.
    var stableOwnVote: Signed<Checkpoint>?
    var viewChangeState = ViewChangeState()
    /// What a genesis checkpoint proof in a VIEW-CHANGE must name.
    let genesisStateRoot: SHA256Digest

    public var lowWatermark: UInt64 { stableCheckpoint.sequence }
    public var highWatermark: UInt64 {
        let (sum, overflow) = stableCheckpoint.sequence.addingReportingOverflow(configuration.logWindow)
        return overflow ? UInt64.max : sum
    }
    public var isPrimary: Bool { configuration.primary(of: view) == id }

    public init(
        configuration: Configuration, id: ReplicaID, signer: any MessageSigner,
        verifier: any SignatureVerifier = Ed25519SignatureVerifier(), genesisStateRoot: SHA256Digest = .zero
    ) {
        self.init(
            restoringFrom: DurableState(genesisStateRoot: genesisStateRoot), configuration: configuration, id: id,
            signer: signer, verifier: verifier)
    }

    /// Rebuilds a replica from what it persisted. Its earlier votes come back into
    /// the log (re-signed: Ed25519 is deterministic, so the bytes are identical), so
    /// it answers a conflicting pre-prepare for a (view, sequence) it voted in with a
    /// rejection, not a second vote.
    public init(
        restoringFrom state: DurableState, configuration: Configuration, id: ReplicaID, signer: any MessageSigner,
        verifier: any SignatureVerifier = Ed25519SignatureVerifier()
    ) {
        self.configuration = configuration
        self.id = id
        self.signer = signer
        self.verifier = verifier
        view = state.view
        genesisStateRoot = state.genesisStateRoot
        viewChangeState.active = state.activeView >= state.view
        stableCheckpoint = state.stableCheckpoint
        lastExecuted = state.lastExecuted
        lastExecutedStateRoot = state.lastExecutedStateRoot
        lastDispatched = state.lastExecuted
        lastAssigned = max(state.lastExecuted, state.stableCheckpoint.sequence)
        for (client, requestID) in state.executedRequestIDs {
            clients[client] = ClientRecord(lastDispatched: requestID)
        }
        let low = state.stableCheckpoint.sequence
        let high = highWatermark
        for (sequence, accepted) in state.prePrepared where sequence > low && sequence <= high {
            let header = accepted.prePrepare.body
            guard header.view == view else { continue }
            var entry = LogEntry(prePrepare: accepted.prePrepare, batch: accepted.batch)
            if header.replica != id {
                entry.prepares[id] = signer.sign(
                    Prepare(view: header.view, sequence: sequence, digest: header.digest, replica: id))
            }
            if let certificate = state.prepared[sequence], certificate.view == header.view,
                certificate.digest == header.digest
            {
                for prepare in certificate.prepares { entry.prepares[prepare.body.replica] = prepare }
                entry.prepared = certificate
                entry.commits[id] = signer.sign(
                    Commit(view: header.view, sequence: sequence, digest: header.digest, replica: id))
            }
            log[sequence] = entry
            if header.replica == id { lastAssigned = max(lastAssigned, sequence) }
            lastBatchTimestamp = max(lastBatchTimestamp, accepted.batch.timestamp)
        }
        // Certificates from earlier views must survive the restart: the next
        // VIEW-CHANGE carries them.
        for (sequence, certificate) in state.prepared where sequence > low && sequence <= high {
            guard log[sequence]?.prepared == nil, let batch = state.preparedBatches[sequence],
                batch.digest == certificate.digest
            else { continue }
            log[sequence, default: LogEntry()].carried = CarriedCertificate(certificate: certificate, batch: batch)
        }
        if !viewChangeState.active {
            // Still changing view: only certificates count, and our VIEW-CHANGE is
            // rebuilt for `retransmissions()`.
            resetVotes()
            viewChangeState.received[id] = makeViewChange()
        }
        // Checkpoint votes are not persisted; the one for the last executed block
        // is rebuilt from the block store's root, so the checkpoint can still
        // become stable after a crash.
        let executed = state.lastExecuted
        if executed > low, executed <= high, executed % configuration.checkpointInterval == 0 {
            ownCheckpoints[executed] = state.lastExecutedStateRoot
            checkpointVotes[executed] = [
                id: signer.sign(Checkpoint(sequence: executed, stateRoot: state.lastExecutedStateRoot, replica: id))
            ]
        }
    }

    // MARK: Inspection

    /// Prepared certificates above h, by sequence: the P set of a VIEW-CHANGE.
    public var preparedCertificates: [PreparedCertificate] {
        log.keys.sorted().compactMap { log[$0].flatMap { $0.prepared ?? $0.carried?.certificate } }
    }

    public func preparedCertificate(for sequence: UInt64) -> PreparedCertificate? {
        log[sequence].flatMap { $0.prepared ?? $0.carried?.certificate }
    }

    public var footprint: ReplicaFootprint {
        ReplicaFootprint(
            logEntries: log.count,
            storedVotes: log.values.reduce(0) { $0 + $1.prepares.count + $1.commits.count + ($1.prePrepare == nil ? 0 : 1) }
                + checkpointVotes.values.reduce(0) { $0 + $1.count },
            checkpointSequences: checkpointVotes.count + ownCheckpoints.count,
            pendingRequests: inFlight.count,
            awaitedRequests: awaited.count,
            dispatchedBlocks: dispatched.count,
            cachedReplies: clients.values.reduce(0) { $0 + $1.replies.count })
    }

    /// Everything this replica has said about sequences above its stable checkpoint
    /// (its pre-prepares as primary, prepares, commits) plus its checkpoint votes
    /// at and above h, for the shell to send again after a reconnect or on
    /// a retransmission timer: PBFT assumes lossy links and recovers by resending.
    /// Peers drop what they already have as duplicates. Changes nothing here, and
    /// re-sends only the votes already persisted, so it can never equivocate.
    public func retransmissions() -> [Action] {
        var actions: [Action] = []
        if !viewChangeState.active, let own = viewChangeState.received[id], own.signed.body.newView == view {
            actions.append(.broadcast(.viewChange(own.signed, own.batches)))
        }
        // NEW-VIEW first, so that a backup that missed it accepts the pre-prepares after it.
        if viewChangeState.active, let sent = viewChangeState.sentNewView, sent.signed.body.view == view {
            actions.append(.broadcast(.newView(sent.signed, sent.batches)))
        }
        for sequence in log.keys.sorted() {
            guard let entry = log[sequence] else { continue }
            if let prePrepare = entry.prePrepare, prePrepare.body.replica == id, let batch = entry.batch {
                actions.append(.broadcast(.prePrepare(prePrepare, batch)))
            }
            if let prepare = entry.prepares[id] { actions.append(.broadcast(.prepare(prepare))) }
            if let commit = entry.commits[id] { actions.append(.broadcast(.commit(commit))) }
        }
        if let stableOwnVote { actions.append(.broadcast(.checkpoint(stableOwnVote))) }
        for sequence in checkpointVotes.keys.sorted() {
            if let vote = checkpointVotes[sequence]?[id] { actions.append(.broadcast(.checkpoint(vote))) }
        }
        return actions
    }

    // MARK: Events

    public mutating func handle(_ event: Event) -> [Action] {
        var actions: [Action] = []
        switch event {
        case let .clientRequest(request, now):
            onRequest(request, from: .client, now: now, into: &actions)
        case let .message(message, sender, now):
            onMessage(message, from: sender, now: now, into: &actions)
        case let .frame(bytes, sender, now):
            do {
                let message = try MessageCodec.decode(bytes, limits: configuration.codecLimits)
                onMessage(message, from: sender, now: now, into: &actions)
            } catch {
                actions.append(.reject(Rejection(from: sender, subject: "frame of \(bytes.count) bytes", reason: .malformed(error))))
            }
        case let .timerFired(kind, now):
            onTimer(kind, now: now, into: &actions)
        case let .executed(sequence, stateRoot, results, now):
            onExecuted(sequence: sequence, stateRoot: stateRoot, results: results, now: now, into: &actions)
        case let .certifiedBlock(batch, certificate, sender, _):
            if let reason = onCertifiedBlock(batch, certificate, into: &actions) {
                actions.append(.reject(Rejection(
                    from: sender, subject: "certified block n\(certificate.sequence)", reason: reason)))
            }
        case let .checkpointProof(proof, sender, now):
            if let reason = onCheckpointProof(proof, now: now, into: &actions) {
                actions.append(.reject(Rejection(from: sender, subject: "checkpoint proof n\(proof.sequence)", reason: reason)))
            }
        }
        return actions
    }

    mutating func onMessage(_ message: Message, from sender: Sender, now: UInt64, into actions: inout [Action]) {
        switch message {
        case let .request(request):
            onRequest(request, from: sender, now: now, into: &actions)
            return
        case .reply:
            actions.append(.reject(Rejection(from: sender, subject: "reply", reason: .unexpectedMessage)))
            return
        default: break
        }
        // Every other message is a replica's: it must come from the member who signed it.
        let subject = Self.subject(message)
        guard let claimed = message.signer else { return }
        guard case let .replica(peer) = sender else {
            actions.append(.reject(Rejection(from: sender, subject: subject, reason: .unexpectedMessage)))
            return
        }
        guard configuration.key(of: claimed) != nil, configuration.key(of: peer) != nil else {
            actions.append(.reject(Rejection(from: sender, subject: subject, reason: .unknownSender)))
            return
        }
        guard claimed == peer else {
            actions.append(.reject(Rejection(from: sender, subject: subject, reason: .senderMismatch(signer: claimed))))
            return
        }
        guard claimed != id else {
            actions.append(.reject(Rejection(from: sender, subject: subject, reason: .fromSelf)))
            return
        }
        let reason: RejectReason?
        switch message {
        case .prePrepare where !viewChangeState.active: reason = holdEarly(message, from: peer)
        case let .prePrepare(signed, batch): reason = onPrePrepare(signed, batch: batch, now: now, into: &actions)
        case let .prepare(signed): reason = onPrepare(signed, now: now, into: &actions)
        case let .commit(signed): reason = onCommit(signed, now: now, into: &actions)
        case let .checkpoint(signed): reason = onCheckpoint(signed, now: now, into: &actions)
        case let .viewChange(signed, batches): reason = onViewChange(signed, batches: batches, now: now, into: &actions)
        case let .newView(signed, batches): reason = onNewView(signed, batches: batches, now: now, into: &actions)
        case .request, .reply: reason = nil
        }
        if let reason {
            actions.append(.reject(Rejection(from: sender, subject: subject, reason: reason)))
        }
    }

    /// Hash of the request exactly as signed (signature included).
    static func fingerprint(_ request: ClientRequest) -> SHA256Digest {
        var writer = ByteWriter(capacity: request.encodedSize)
        MessageCodec.encode(request, into: &writer)
        return SHA256.hash(writer.bytes)
    }

    static func subject(_ message: Message) -> String {
        switch message {
        case let .request(r): return "request \(r.client.rawValue)/\(r.requestID)"
        case let .prePrepare(m, _): return "pre-prepare v\(m.body.view) n\(m.body.sequence)"
        case let .prepare(m): return "prepare v\(m.body.view) n\(m.body.sequence)"
        case let .commit(m): return "commit v\(m.body.view) n\(m.body.sequence)"
        case let .checkpoint(m): return "checkpoint n\(m.body.sequence)"
        case let .reply(m): return "reply \(m.body.client.rawValue)/\(m.body.requestID)"
        case let .viewChange(m, _): return "view-change v\(m.body.newView)"
        case let .newView(m, _): return "new-view v\(m.body.view)"
        }
    }

    // MARK: Client requests

    mutating func onRequest(_ request: ClientRequest, from sender: Sender, now: UInt64, into actions: inout [Action]) {
        let subject = "request \(request.client.rawValue)/\(request.requestID)"
        func reject(_ reason: RejectReason) {
            actions.append(.reject(Rejection(from: sender, subject: subject, reason: reason)))
        }
        guard let client = configuration.clients[request.client] else { return reject(.unknownClient(request.client)) }
        guard client.kind == request.kind else { return reject(.wrongKind(claimed: request.kind, authorized: client.kind)) }
        guard request.payload.count <= configuration.maxPayloadBytes else {
            return reject(.payloadTooLarge(request.payload.count))
        }
        let record = clients[request.client] ?? ClientRecord()
        if case .replica = sender {
            // A backup's forwarded copy of a request we have (or ran) is expected, not hostile.
            if request.requestID <= record.lastDispatched || inFlight.contains(request.key) || awaited[request.key] != nil {
                return
            }
        }
        if request.requestID <= record.lastDispatched {
            // Executed (or executing) already: answer from the cache, never re-execute.
            if let cached = record.replies.last(where: { $0.body.requestID == request.requestID }) {
                actions.append(.reply(cached, to: request.client))
            } else if dispatched.contains(where: { $0.requests.contains(request.key) }) {
                reject(.alreadyInProgress)
            } else {
                reject(.staleRequest(lastExecuted: record.lastDispatched))
            }
            return
        }
        if isPrimary && viewChangeState.active {
            guard !inFlight.contains(request.key) else { return reject(.alreadyInProgress) }
            guard pending.count < configuration.maxPendingRequests else { return reject(.tooManyPending) }
            // The primary verifies each request once, here; backups verify it once
            // when it arrives inside a pre-prepare.
            guard verifier.verify(request, key: client.publicKey) else { return reject(.badSignature) }
            pending.append(request)
            inFlight.insert(request.key)
            proposeBatches(now: now, force: configuration.batch.timeout == 0, into: &actions)
            if !pending.isEmpty && !batchTimerRunning {
                batchTimerRunning = true
                actions.append(.setTimer(.batch, after: configuration.batch.timeout))
            }
        } else {
            // Verified even though a backup only watches for it to execute: an
            // unsigned request must not arm the timer that makes backups suspect the
            // primary. The fingerprint spares the second verify in the pre-prepare.
            guard awaited[request.key] == nil else { return reject(.alreadyInProgress) }
            guard awaited.count < configuration.maxPendingRequests else { return reject(.tooManyPending) }
            guard verifier.verify(request, key: client.publicKey) else { return reject(.badSignature) }
            awaited[request.key] = AwaitedRequest(request: request, fingerprint: Self.fingerprint(request))
            guard viewChangeState.active else { return }
            if !requestTimerRunning {
                requestTimerRunning = true
                actions.append(.setTimer(.request, after: viewChangeTimeout))
            }
            // The client may have reached only this backup: the primary must see it,
            // or the timer would blame an honest primary. Forwarded once, never again
            // from the primary's side.
            if sender == .client {
                actions.append(.send(.request(request), to: configuration.primary(of: view)))
            }
        }
    }

    /// Cuts batches from the pending queue while there is room below the high
    /// watermark: full ones always, the partial remainder only when `force` (the
    /// batch timer fired or batching is off).
    mutating func proposeBatches(now: UInt64, force: Bool, into actions: inout [Action]) {
        guard isPrimary, viewChangeState.active else { return }
        let policy = configuration.batch
        while !pending.isEmpty, lastAssigned < highWatermark {
            var count = 0
            var bytes = 0
            while count < pending.count, count < policy.maxRequests {
                let size = pending[count].encodedSize
                if count > 0 && bytes + size > policy.maxBytes { break }
                bytes += size
                count += 1
            }
            let full = count == policy.maxRequests || count < pending.count || bytes >= policy.maxBytes
            guard full || force else { break }
            let requests = Array(pending.prefix(count))
            pending.removeFirst(count)
            lastAssigned += 1
            lastBatchTimestamp = max(lastBatchTimestamp, now)
            let batch = Batch(timestamp: lastBatchTimestamp, requests: requests)
            let header = PrePrepare(view: view, sequence: lastAssigned, digest: batch.digest, replica: id)
            let signed = signer.sign(header)
            log[lastAssigned, default: LogEntry()].prePrepare = signed
            log[lastAssigned, default: LogEntry()].batch = batch
            actions.append(.persist(.prePrepared(AcceptedPrePrepare(prePrepare: signed, batch: batch))))
            actions.append(.broadcast(.prePrepare(signed, batch)))
            checkPrepared(lastAssigned, into: &actions)
        }
        if pending.isEmpty && batchTimerRunning {
            batchTimerRunning = false
            actions.append(.cancelTimer(.batch))
        }
    }

    mutating func onTimer(_ kind: TimerKind, now: UInt64, into actions: inout [Action]) {
        switch kind {
        case .batch:
            batchTimerRunning = false
            proposeBatches(now: now, force: true, into: &actions)
        case .request:
            requestTimerRunning = false
            if !awaited.isEmpty {
                actions.append(.notice(.requestTimerExpired(waiting: awaited.count)))
                // Suspect the primary: move to the next view.
                if viewChangeState.active { startViewChange(to: view + 1, now: now, into: &actions) }
            }
        case .viewChange:
            onViewChangeTimer(now: now, into: &actions)
        }
    }

    // MARK: Three phases

    func watermarkReason(_ sequence: UInt64) -> RejectReason? {
        sequence > lowWatermark && sequence <= highWatermark
            ? nil : .outsideWatermarks(sequence: sequence, low: lowWatermark, high: highWatermark)
    }

    mutating func onPrePrepare(_ signed: Signed<PrePrepare>, batch: Batch, now: UInt64, into actions: inout [Action])
        -> RejectReason?
    {
        let header = signed.body
        let primary = configuration.primary(of: view)
        guard header.view == view else { return .wrongView(got: header.view, current: view) }
        guard header.replica == primary else { return .notFromPrimary(primary: primary) }
        if let reason = watermarkReason(header.sequence) { return reason }
        if let existing = log[header.sequence]?.prePrepare, existing.body.view == header.view {
            return existing.body.digest == header.digest ? .duplicate : .conflictingPrePrepare
        }
        let bytes = batch.requests.reduce(0) { $0 + $1.encodedSize }
        guard batch.requests.count <= configuration.batch.maxRequests, bytes <= configuration.batch.maxBytes else {
            return .batchTooLarge(requests: batch.requests.count, bytes: bytes)
        }
        guard batch.digest == header.digest else { return .digestMismatch }
        guard verifier.verify(signed, in: configuration) else { return .badSignature }
        for (index, request) in batch.requests.enumerated() {
            guard let client = configuration.clients[request.client] else {
                return .invalidRequestInBatch(index: index, reason: "\(request.client) is not authorized")
            }
            guard client.kind == request.kind else {
                return .invalidRequestInBatch(
                    index: index, reason: "kind \(request.kind) signed by a key authorized for \(client.kind)")
            }
            guard request.payload.count <= configuration.maxPayloadBytes else {
                return .invalidRequestInBatch(index: index, reason: "payload too large")
            }
            if let seen = awaited[request.key], seen.fingerprint == Self.fingerprint(request) { continue }
            guard verifier.verify(request, key: client.publicKey) else {
                return .invalidRequestInBatch(index: index, reason: "signature does not verify")
            }
        }
        var entry = log[header.sequence] ?? LogEntry()
        entry.prePrepare = signed
        entry.batch = batch
        let prepare = signer.sign(Prepare(view: view, sequence: header.sequence, digest: header.digest, replica: id))
        entry.prepares[id] = prepare
        log[header.sequence] = entry
        actions.append(.persist(.prePrepared(AcceptedPrePrepare(prePrepare: signed, batch: batch))))
        actions.append(.broadcast(.prepare(prepare)))
        checkPrepared(header.sequence, into: &actions)
        return nil
    }

    mutating func onPrepare(_ signed: Signed<Prepare>, now: UInt64, into actions: inout [Action]) -> RejectReason? {
        let vote = signed.body
        guard vote.view == view else { return .wrongView(got: vote.view, current: view) }
        guard vote.replica != configuration.primary(of: view) else { return .prepareFromPrimary }
        if let reason = watermarkReason(vote.sequence) { return reason }
        if let existing = log[vote.sequence]?.prepares[vote.replica] {
            return existing == signed ? .duplicate : .conflictingVote
        }
        guard verifier.verify(signed, in: configuration) else { return .badSignature }
        log[vote.sequence, default: LogEntry()].prepares[vote.replica] = signed
        checkPrepared(vote.sequence, into: &actions)
        return nil
    }

    mutating func onCommit(_ signed: Signed<Commit>, now: UInt64, into actions: inout [Action]) -> RejectReason? {
        let vote = signed.body
        guard vote.view == view else { return .wrongView(got: vote.view, current: view) }
        if let reason = watermarkReason(vote.sequence) { return reason }
        if let existing = log[vote.sequence]?.commits[vote.replica] {
            return existing == signed ? .duplicate : .conflictingVote
        }
        guard verifier.verify(signed, in: configuration) else { return .badSignature }
        log[vote.sequence, default: LogEntry()].commits[vote.replica] = signed
        checkCommitted(vote.sequence, into: &actions)
        return nil
    }

    /// prepared(m, v, n): the pre-prepare plus 2f matching prepares from distinct
    /// backups. Then persist the certificate and commit.
    mutating func checkPrepared(_ sequence: UInt64, into actions: inout [Action]) {
        guard var entry = log[sequence], entry.prepared == nil, let prePrepare = entry.prePrepare else { return }
        let header = prePrepare.body
        let matching = entry.prepares.values
            .filter { $0.body.view == header.view && $0.body.digest == header.digest && $0.body.replica != header.replica }
            .sorted { $0.body.replica < $1.body.replica }
        guard matching.count >= configuration.prepareQuorum else { return }
        let certificate = PreparedCertificate(
            prePrepare: prePrepare, prepares: Array(matching.prefix(configuration.prepareQuorum)))
        entry.prepared = certificate
        let commit = signer.sign(Commit(view: header.view, sequence: sequence, digest: header.digest, replica: id))
        entry.commits[id] = commit
        log[sequence] = entry
        actions.append(.persist(.prepared(certificate)))
        actions.append(.broadcast(.commit(commit)))
        checkCommitted(sequence, into: &actions)
    }

    /// committed-local(m, v, n): prepared plus 2f+1 matching commits from distinct
    /// replicas (this one included).
    mutating func checkCommitted(_ sequence: UInt64, into actions: inout [Action]) {
        guard let entry = log[sequence], !entry.committed, let certificate = entry.prepared else { return }
        let matching = matchingCommits(entry, certificate)
        guard matching.count >= configuration.quorum else { return }
        log[sequence]?.committed = true
        dispatchCommitted(into: &actions)
    }

    func matchingCommits(_ entry: LogEntry, _ certificate: PreparedCertificate) -> [Signed<Commit>] {
        entry.commits.values
            .filter { $0.body.view == certificate.view && $0.body.digest == certificate.digest }
            .sorted { $0.body.replica < $1.body.replica }
    }

    /// Hands committed blocks to the shell strictly in sequence order.
    mutating func dispatchCommitted(into actions: inout [Action]) {
        while let entry = log[lastDispatched + 1], entry.committed, let certificate = entry.prepared,
            let batch = entry.batch, lastDispatched + 1 > lowWatermark
        {
            let signatures = matchingCommits(entry, certificate).prefix(configuration.quorum).map {
                CommitSignature(replica: $0.body.replica, signature: $0.signature)
            }
            dispatch(
                batch,
                CommitCertificate(
                    view: certificate.view, sequence: lastDispatched + 1, digest: certificate.digest,
                    signatures: Array(signatures)),
                into: &actions)
        }
    }

    /// Emits the execute action for the next sequence, minus replayed requests.
    mutating func dispatch(_ batch: Batch, _ certificate: CommitCertificate, into actions: inout [Action]) {
        var fresh: [ClientRequest] = []
        for request in batch.requests {
            var record = clients[request.client] ?? ClientRecord()
            guard request.requestID > record.lastDispatched else { continue }
            record.lastDispatched = request.requestID
            clients[request.client] = record
            fresh.append(request)
        }
        let sequence = certificate.sequence
        if viewChangeState.active && certificate.view == view {
            // The view works: the next view change waits the base timeout again.
            viewChangeState.attempts = 0
        }
        lastDispatched = sequence
        lastAssigned = max(lastAssigned, sequence)
        dispatched.append(DispatchedBlock(view: certificate.view, sequence: sequence, requests: fresh.map(\.key)))
        for request in batch.requests { inFlight.remove(request.key) }
        actions.append(.execute(ExecutableBlock(
            view: certificate.view, sequence: sequence, batch: batch, requests: fresh, certificate: certificate)))
        settleAwaited(into: &actions)
    }

    /// Catch-up from a peer's block store. The certificate alone proves the block
    /// final (2f+1 members, so at least f+1 honest ones, committed it after checking
    /// every request), so neither votes nor request signatures are needed here.
    mutating func onCertifiedBlock(_ batch: Batch, _ certificate: CommitCertificate, into actions: inout [Action])
        -> RejectReason?
    {
        guard certificate.sequence > lastDispatched else { return .duplicate }
        guard certificate.sequence == lastDispatched + 1 else { return .notNextBlock(expected: lastDispatched + 1) }
        guard batch.digest == certificate.digest else { return .digestMismatch }
        let bytes = batch.requests.reduce(0) { $0 + $1.encodedSize }
        guard batch.requests.count <= configuration.batch.maxRequests, bytes <= configuration.batch.maxBytes else {
            return .batchTooLarge(requests: batch.requests.count, bytes: bytes)
        }
        do {
            try certificate.verify(against: configuration, verifier: verifier)
        } catch {
            return .invalidCertificate(error)
        }
        dispatch(batch, certificate, into: &actions)
        dispatchCommitted(into: &actions)
        return nil
    }

    /// Catch-up: adopts a peer's stable checkpoint once our own execution reached the
    /// same state at that sequence, so the window moves to where the others are.
    mutating func onCheckpointProof(_ proof: CheckpointProof, now: UInt64, into actions: inout [Action]) -> RejectReason? {
        guard proof.sequence > lowWatermark else { return .duplicate }
        guard proof.sequence % configuration.checkpointInterval == 0 else { return .notCheckpointSequence(proof.sequence) }
        let local: SHA256Digest
        if proof.sequence == lastExecuted {
            local = lastExecutedStateRoot
        } else if let own = ownCheckpoints[proof.sequence] {
            local = own
        } else {
            return .checkpointNotReached(lastExecuted: lastExecuted)
        }
        do {
            try proof.verify(against: configuration, genesisStateRoot: stableCheckpoint.stateRoot, verifier: verifier)
        } catch {
            return .invalidProof(error)
        }
        guard local == proof.stateRoot else {
            actions.append(.notice(.stateDivergence(sequence: proof.sequence, local: local, agreed: proof.stateRoot)))
            return .stateRootMismatch(local: local)
        }
        makeStable(proof, now: now, into: &actions)
        return nil
    }

    /// Drops requests the backup was waiting for once they (or a later request of
    /// the same client) are dispatched; restarts or stops the request timer.
    mutating func settleAwaited(into actions: inout [Action]) {
        guard !awaited.isEmpty else { return }
        let before = awaited.count
        awaited = awaited.filter { $0.key.requestID > (clients[$0.key.client]?.lastDispatched ?? 0) }
        guard awaited.count != before else { return }
        if awaited.isEmpty {
            if requestTimerRunning {
                requestTimerRunning = false
                actions.append(.cancelTimer(.request))
            }
        } else if viewChangeState.active {
            requestTimerRunning = true
            actions.append(.setTimer(.request, after: viewChangeTimeout))
        }
    }

    // MARK: Execution and checkpoints

    mutating func onExecuted(
        sequence: UInt64, stateRoot: SHA256Digest, results: [ExecutionResult], now: UInt64, into actions: inout [Action]
    ) {
        func reject(_ reason: String) {
            actions.append(.reject(Rejection(
                from: .replica(id), subject: "executed n\(sequence)", reason: .invalidExecutionReport(reason))))
        }
        guard let block = dispatched.first, block.sequence == sequence, sequence == lastExecuted + 1 else {
            return reject("expected sequence \(dispatched.first?.sequence ?? lastExecuted + 1)")
        }
        guard results.count == block.requests.count else {
            return reject("\(results.count) results for \(block.requests.count) requests")
        }
        dispatched.removeFirst()
        lastExecuted = sequence
        lastExecutedStateRoot = stateRoot
        for (key, outcome) in zip(block.requests, results) {
            let reply = signer.sign(Reply(
                view: block.view, sequence: sequence, client: key.client, requestID: key.requestID,
                status: outcome.status, result: outcome.result, replica: id))
            var record = clients[key.client] ?? ClientRecord()
            record.replies.append(reply)
            if record.replies.count > configuration.repliesCachedPerClient { record.replies.removeFirst() }
            clients[key.client] = record
            actions.append(.reply(reply, to: key.client))
        }
        // Beyond the window (catching up through certified blocks) nobody would
        // accept the checkpoint, and keeping it would grow memory without bound.
        if sequence % configuration.checkpointInterval == 0, sequence <= highWatermark {
            ownCheckpoints[sequence] = stateRoot
            let checkpoint = signer.sign(Checkpoint(sequence: sequence, stateRoot: stateRoot, replica: id))
            checkpointVotes[sequence, default: [:]][id] = checkpoint
            actions.append(.broadcast(.checkpoint(checkpoint)))
            checkStable(sequence, now: now, into: &actions)
        }
    }

    mutating func onCheckpoint(_ signed: Signed<Checkpoint>, now: UInt64, into actions: inout [Action]) -> RejectReason? {
        let vote = signed.body
        guard vote.sequence % configuration.checkpointInterval == 0 else { return .notCheckpointSequence(vote.sequence) }
        if let reason = watermarkReason(vote.sequence) { return reason }
        if let existing = checkpointVotes[vote.sequence]?[vote.replica] {
            return existing == signed ? .duplicate : .conflictingVote
        }
        guard verifier.verify(signed, in: configuration) else { return .badSignature }
        checkpointVotes[vote.sequence, default: [:]][vote.replica] = signed
        checkStable(vote.sequence, now: now, into: &actions)
        return nil
    }

    /// A checkpoint becomes stable here once 2f+1 members (this one included) signed
    /// the same root. A quorum for a root we have not reached yet is reported, not
    /// adopted: adopting it would discard log entries we still have to execute.
    mutating func checkStable(_ sequence: UInt64, now: UInt64, into actions: inout [Action]) {
        guard sequence > lowWatermark, let votes = checkpointVotes[sequence] else { return }
        var byRoot: [SHA256Digest: [Signed<Checkpoint>]] = [:]
        for vote in votes.values { byRoot[vote.body.stateRoot, default: []].append(vote) }
        guard let (root, matching) = byRoot.first(where: { $0.value.count >= configuration.quorum }) else { return }
        let proof = CheckpointProof(
            sequence: sequence, stateRoot: root,
            messages: Array(matching.sorted { $0.body.replica < $1.body.replica }.prefix(configuration.quorum)))
        guard let own = ownCheckpoints[sequence] else {
            // Only behind if the block is not already on its way through execution.
            if sequence > reportedBehind, sequence > lastDispatched {
                reportedBehind = sequence
                actions.append(.notice(.behindStableCheckpoint(proof, lastExecuted: lastExecuted)))
            }
            return
        }
        guard own == root else {
            if sequence > reportedBehind {
                reportedBehind = sequence
                actions.append(.notice(.stateDivergence(sequence: sequence, local: own, agreed: root)))
            }
            return
        }
        makeStable(proof, now: now, into: &actions)
    }

    mutating func makeStable(_ proof: CheckpointProof, now: UInt64, propose: Bool = true, into actions: inout [Action]) {
        let sequence = proof.sequence
        let root = proof.stateRoot
        stableCheckpoint = proof
        stableOwnVote = checkpointVotes[sequence]?[id]
            ?? ownCheckpoints[sequence].map { signer.sign(Checkpoint(sequence: sequence, stateRoot: $0, replica: id)) }
        log = log.filter { $0.key > sequence }
        checkpointVotes = checkpointVotes.filter { $0.key > sequence }
        ownCheckpoints = ownCheckpoints.filter { $0.key > sequence }
        actions.append(.persist(.stableCheckpoint(proof)))
        actions.append(.notice(.checkpointStable(sequence: sequence, stateRoot: root)))
        // The window moved: batches held back by the high watermark can go now.
        if propose { proposeBatches(now: now, force: !batchTimerRunning, into: &actions) }
    }
}
