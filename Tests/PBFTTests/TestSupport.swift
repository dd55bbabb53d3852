import Cryptography
import Testing

@testable import PBFT

/// SplitMix64: a tiny seeded generator so every schedule can be replayed from its seed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Counts verifications, to check the per-block budget. Each test owns its counter
/// and drives its replicas from its own task, so there is no concurrent access
/// (and `Atomic` would need macOS 15, above the package's macOS 14).
final class VerifyCounter: @unchecked Sendable {
    private(set) var value = 0
    func increment() { value += 1 }
}

/// A fast stand-in for Ed25519 in big sweeps: SHA-256 of the public key and message,
/// which only a holder of the right public key id reproduces. Not secure; it only has
/// to make forged and misattributed signatures fail the same way real ones do.
struct FakeSigner: MessageSigner {
    let publicKey: Ed25519PublicKey
    func signature(for message: [UInt8]) -> [UInt8] { FakeSigner.sign(message, publicKey) }
    static func sign(_ message: [UInt8], _ key: Ed25519PublicKey) -> [UInt8] {
        let digest = SHA256.hash(key.rawRepresentation + message)
        return digest.bytes + digest.bytes
    }
}

struct FakeVerifier: SignatureVerifier {
    var counter: VerifyCounter?
    func isValidSignature(_ signature: [UInt8], for message: [UInt8], by key: Ed25519PublicKey) -> Bool {
        counter?.increment()
        return signature == FakeSigner.sign(message, key)
    }
}

struct CountingVerifier: SignatureVerifier {
    let counter: VerifyCounter
    let inner = Ed25519SignatureVerifier()
    func isValidSignature(_ signature: [UInt8], for message: [UInt8], by key: Ed25519PublicKey) -> Bool {
        counter.increment()
        return inner.isValidSignature(signature, for: message, by: key)
    }
}

/// Deterministic keys for members, the two authorized clients and an outsider.
enum Keys {
    static func seed(_ value: UInt8) -> [UInt8] { [UInt8](repeating: value, count: 32) }
    static func member(_ index: Int) -> Ed25519PrivateKey {
        // Seeds are fixed and valid; a failure here is a broken OpenSSL, not a test result.
        (try? Ed25519PrivateKey(seed: seed(UInt8(index + 1)))) ?? fatalKey()
    }
    static let admin = (try? Ed25519PrivateKey(seed: seed(200))) ?? fatalKey()
    static let exchange = (try? Ed25519PrivateKey(seed: seed(201))) ?? fatalKey()
    static let outsider = (try? Ed25519PrivateKey(seed: seed(202))) ?? fatalKey()
    static func fatalKey() -> Ed25519PrivateKey { fatalError("cannot build a test key") }

    static let adminID = ClientID(1)
    static let exchangeID = ClientID(2)
}

struct TestSetup: Sendable {
    var n: Int
    var fast: Bool
    var checkpointInterval: UInt64 = 10
    var logWindow: UInt64? = nil
    var batch = BatchPolicy(maxRequests: 4, maxBytes: 1 << 20, timeout: 1_000)
    var counter: VerifyCounter? = nil

    func configuration() throws -> Configuration {
        try Configuration(
            members: (0..<n).map { Keys.member($0).publicKey }, checkpointInterval: checkpointInterval,
            logWindow: logWindow, batch: batch, requestTimeout: 1_000_000,
            clients: [
                AuthorizedClient(id: Keys.adminID, kind: .admin, publicKey: Keys.admin.publicKey),
                AuthorizedClient(id: Keys.exchangeID, kind: .exchange, publicKey: Keys.exchange.publicKey),
            ], maxPayloadBytes: 4096, maxResultBytes: 4096)
    }

    func signer(_ index: Int) -> any MessageSigner {
        fast ? FakeSigner(publicKey: Keys.member(index).publicKey) : Ed25519MessageSigner(key: Keys.member(index))
    }

    func verifier() -> any SignatureVerifier {
        if fast { return FakeVerifier(counter: counter) }
        if let counter { return CountingVerifier(counter: counter) }
        return Ed25519SignatureVerifier()
    }

    func clientSign(_ request: ClientRequest, with key: Ed25519PrivateKey) -> ClientRequest {
        var copy = request
        copy.signature = fast
            ? FakeSigner.sign(MessageCodec.signingBytes(request), key.publicKey)
            : ((try? key.signature(for: MessageCodec.signingBytes(request))) ?? [])
        return copy
    }

    func request(_ id: UInt64, client: ClientID = Keys.exchangeID, payload: [UInt8]? = nil) -> ClientRequest {
        let kind: ClientKind = client == Keys.adminID ? .admin : .exchange
        let key = client == Keys.adminID ? Keys.admin : Keys.exchange
        let body = ClientRequest(
            client: client, requestID: id, kind: kind, payload: payload ?? Array("trade batch \(id)".utf8))
        return clientSign(body, with: key)
    }

    func sign<Body: SignedBody>(_ body: Body) -> Signed<Body> {
        signer(Int(body.replica.rawValue)).sign(body)
    }
}

/// The shell of one replica in the test network: what it persisted and executed.
struct Node {
    var replica: Replica
    var durable: DurableState
    var executed: [ExecutableBlock] = []
    var executedCount = 0
    var stateRoots: [UInt64: SHA256Digest] = [:]
    var keepBlocks = true
    var rejections: [Rejection] = []
    var timers: Set<TimerKind> = []
    var executions: [RequestKey: Int] = [:]
}

/// A deterministic in-test network: a queue of (from, to, bytes) delivered in an
/// order drawn from a seeded generator; messages travel encoded, so the codec is on
/// every path. Execution is immediate: the "ledger" state root is a hash chain of
/// batch digests.
struct Network {
    let setup: TestSetup
    let configuration: Configuration
    var nodes: [Node]
    var queue: [(from: ReplicaID, to: ReplicaID, bytes: [UInt8])] = []
    var random: SeededRandom
    let seed: UInt64
    var now: UInt64 = 1_000
    var replies: [(to: ClientID, reply: Signed<Reply>)] = []
    /// Drops a message (returns false) before it is queued.
    var filter: (@Sendable (ReplicaID, ReplicaID, Message) -> Bool)?
    /// Rewrites a message in flight (a byzantine sender, as seen by its receiver).
    var tamper: (@Sendable (ReplicaID, ReplicaID, Message) -> Message)?
    var dropPercent: UInt64 = 0
    var duplicatePercent: UInt64 = 0
    var delivered = 0
    var keepBlocks = true
    /// Crashed replicas: they handle nothing and nothing reaches or leaves them.
    var crashed: Set<Int> = []

    init(_ setup: TestSetup, seed: UInt64) throws {
        self.setup = setup
        self.seed = seed
        configuration = try setup.configuration()
        random = SeededRandom(seed: seed)
        var nodes: [Node] = []
        for index in 0..<setup.n {
            let replica = Replica(
                configuration: configuration, id: ReplicaID(UInt16(index)), signer: setup.signer(index),
                verifier: setup.verifier())
            nodes.append(Node(replica: replica, durable: DurableState()))
        }
        self.nodes = nodes
    }

    var primary: Int { Int(configuration.primary(of: nodes[0].replica.view).rawValue) }

    /// The client sends to every replica, as a PBFT client does.
    mutating func submit(_ request: ClientRequest, to targets: [Int]? = nil) {
        for index in targets ?? Array(0..<nodes.count) {
            deliver(.clientRequest(request, now: now), to: index)
        }
    }

    mutating func deliver(_ event: Event, to index: Int) {
        guard !crashed.contains(index) else { return }
        let actions = nodes[index].replica.handle(event)
        perform(actions, at: index)
    }

    mutating func perform(_ actions: [Action], at index: Int) {
        let me = ReplicaID(UInt16(index))
        for action in actions {
            switch action {
            case let .persist(record):
                nodes[index].durable.apply(record)
            case let .send(message, to):
                enqueue(message, from: me, to: to)
            case let .broadcast(message):
                checkPersistedBeforeSending(message, at: index)
                for other in 0..<nodes.count where other != index {
                    enqueue(message, from: me, to: ReplicaID(UInt16(other)))
                }
            case let .reply(reply, to):
                replies.append((to, reply))
            case let .execute(block):
                execute(block, at: index)
            case let .setTimer(kind, _):
                nodes[index].timers.insert(kind)
            case let .cancelTimer(kind):
                nodes[index].timers.remove(kind)
            case let .reject(rejection):
                nodes[index].rejections.append(rejection)
            case .notice:
                break
            }
        }
    }

    /// The durability contract: what a replica votes for is on disk before the vote
    /// leaves.
    func checkPersistedBeforeSending(_ message: Message, at index: Int) {
        let durable = nodes[index].durable
        switch message {
        case let .prePrepare(signed, _):
            #expect(durable.prePrepared[signed.body.sequence]?.prePrepare == signed, "seed \(seed)")
        case let .prepare(signed):
            #expect(durable.prePrepared[signed.body.sequence]?.prePrepare.body.digest == signed.body.digest, "seed \(seed)")
        case let .commit(signed):
            #expect(durable.prepared[signed.body.sequence]?.digest == signed.body.digest, "seed \(seed)")
        case let .viewChange(signed, _):
            #expect(durable.view >= signed.body.newView, "seed \(seed)")
        case let .newView(signed, _):
            #expect(durable.activeView >= signed.body.view, "seed \(seed)")
        default:
            break
        }
    }

    /// Crashes replica `index` and starts it again from what it persisted.
    mutating func restart(_ index: Int) {
        nodes[index].replica = Replica(
            restoringFrom: nodes[index].durable, configuration: configuration, id: ReplicaID(UInt16(index)),
            signer: setup.signer(index), verifier: setup.verifier())
        nodes[index].timers = []
    }

    mutating func execute(_ block: ExecutableBlock, at index: Int) {
        let previous = nodes[index].replica.lastExecutedStateRoot
        var hasher = [UInt8]()
        hasher += previous.bytes
        hasher += block.digest.bytes
        let root = SHA256.hash(hasher)
        if keepBlocks { nodes[index].executed.append(block) }
        nodes[index].executedCount += 1
        if block.sequence % configuration.checkpointInterval == 0 { nodes[index].stateRoots[block.sequence] = root }
        for request in block.requests { nodes[index].executions[request.key, default: 0] += 1 }
        nodes[index].durable.noteExecuted(block, stateRoot: root)
        let results = block.requests.map { ExecutionResult(status: .applied, result: Array("ok \($0.requestID)".utf8)) }
        deliver(.executed(sequence: block.sequence, stateRoot: root, results: results, now: now), to: index)
    }

    mutating func enqueue(_ message: Message, from: ReplicaID, to: ReplicaID) {
        if crashed.contains(Int(from.rawValue)) || crashed.contains(Int(to.rawValue)) { return }
        if let filter, !filter(from, to, message) { return }
        let sent = tamper?(from, to, message) ?? message
        if dropPercent > 0 && random.next() % 100 < dropPercent { return }
        let bytes = MessageCodec.encode(sent)
        queue.append((from, to, bytes))
        if duplicatePercent > 0 && random.next() % 100 < duplicatePercent { queue.append((from, to, bytes)) }
    }

    /// Delivers queued messages in seeded random order until the network is quiet.
    mutating func run(maxSteps: Int = 1_000_000) {
        var steps = 0
        while !queue.isEmpty && steps < maxSteps {
            let pick = Int(random.next() % UInt64(queue.count))
            queue.swapAt(pick, queue.count - 1)
            let (from, to, bytes) = queue.removeLast()
            now += 1
            delivered += 1
            deliver(.frame(bytes, from: .replica(from), now: now), to: Int(to.rawValue))
            steps += 1
        }
    }

    mutating func fire(_ kind: TimerKind) {
        now += 1
        for index in 0..<nodes.count where nodes[index].timers.contains(kind) {
            nodes[index].timers.remove(kind)
            deliver(.timerFired(kind, now: now), to: index)
        }
    }

    /// Every replica executed the same batches, in the same order.
    func agreedDigests() -> [SHA256Digest]? {
        let first = nodes[0].executed.map(\.digest)
        for node in nodes where node.executed.map(\.digest) != first { return nil }
        return first
    }
}

extension Array where Element == Action {
    var broadcasts: [Message] {
        compactMap { if case let .broadcast(m) = $0 { return m } else { return nil } }
    }
    var rejections: [RejectReason] {
        compactMap { if case let .reject(r) = $0 { return r.reason } else { return nil } }
    }
    var executions: [ExecutableBlock] {
        compactMap { if case let .execute(b) = $0 { return b } else { return nil } }
    }
    var persists: [PersistRecord] {
        compactMap { if case let .persist(p) = $0 { return p } else { return nil } }
    }
    var sentCommits: [Signed<Commit>] {
        broadcasts.compactMap { if case let .commit(c) = $0 { return c } else { return nil } }
    }
    var sentPrepares: [Signed<Prepare>] {
        broadcasts.compactMap { if case let .prepare(p) = $0 { return p } else { return nil } }
    }
}
