import Cryptography
import NIOCore
import PBFT

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Applies committed blocks to the application state (the ledger), in sequence
/// order, on the host's event loop.
public protocol BlockExecutor: AnyObject {
    /// Returns the state root after the block and one result per request of
    /// `block.requests`.
    func execute(_ block: ExecutableBlock) throws -> (stateRoot: SHA256Digest, results: [ExecutionResult])
}

/// Where a replica's votes go before they are sent; `append` returns only once the
/// record is durable.
public protocol VoteLog: AnyObject {
    func append(_ record: PersistRecord) throws
}

/// How consensus ids map onto transport node ids: members keep their number,
/// clients are numbered from 65,536 so the two never collide.
public enum ConsortiumAddressing {
    public static let clientBase: NodeID = 1 << 16

    public static func node(of replica: ReplicaID) -> NodeID { NodeID(replica.rawValue) }
    public static func node(of client: ClientID) -> NodeID { clientBase + client.rawValue }

    public static func replica(of node: NodeID) -> ReplicaID? {
        node < clientBase ? ReplicaID(UInt16(node)) : nil
    }

    public static func client(of node: NodeID) -> ClientID? {
        node >= clientBase ? ClientID(node - clientBase) : nil
    }
}

/// The thin shell around a `Replica`: it feeds the core events from the network
/// and its timers and carries out the actions the core returns — persist (durably,
/// before the sends that follow), send, broadcast, reply, execute, timers. All core
/// work happens on one event loop, so the core needs no locks.
public final class ReplicaHost: @unchecked Sendable {
    // `replica`, `timers`, `pendingEvents` and `draining` are touched only on
    // `loop`; the rest is immutable after init.
    private var replica: Replica
    private let loop: EventLoop
    private let executor: BlockExecutor
    private let votes: VoteLog
    private let members: [NodeID]
    private var timers: [TimerKind: Scheduled<Void>] = [:]
    private var pendingEvents: [Event] = []
    private var draining = false
    private let log: @Sendable (String) -> Void
    public let transport: AuthenticatedTransport

    /// Builds the host; call `start()` on `loop` afterwards via `listen`/`connect`.
    public init(replica: Replica, transportConfiguration: TransportConfiguration, group: EventLoopGroup,
                executor: BlockExecutor, votes: VoteLog, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.replica = replica
        self.loop = group.next()
        self.executor = executor
        self.votes = votes
        self.log = log
        self.members = (0..<replica.configuration.n).map { NodeID($0) }
        let box = HostBox()
        transport = AuthenticatedTransport(configuration: transportConfiguration, group: group) { event in
            box.host?.transportEvent(event)
        }
        box.host = self
    }

    /// Monotonic nanoseconds: the timestamps the primary carries into batches.
    private func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    /// Resends this replica's persisted votes (after a restart or reconnect).
    public func retransmit() {
        loop.execute { [self] in perform(replica.retransmissions()) }
    }

    /// Hands an event to the core (from any thread).
    public func submit(_ event: Event) {
        loop.execute { [self] in enqueue(event) }
    }

    /// Runs `body` on the host's loop with read access to the replica, for status.
    public func withReplica<T: Sendable>(_ body: @escaping @Sendable (Replica) -> T) async throws -> T {
        try await loop.submit { [self] in body(replica) }.get()
    }

    public func shutdown() async {
        try? await loop.submit { [self] in
            for timer in timers.values { timer.cancel() }
            timers.removeAll()
        }.get()
        await transport.shutdown()
    }

    // MARK: - Driving the core

    private func transportEvent(_ event: TransportEvent) {
        switch event {
        case let .message(from, bytes):
            let sender: Sender
            if let member = ConsortiumAddressing.replica(of: from) {
                sender = .replica(member)
            } else {
                sender = .client
            }
            let stamp = now()
            loop.execute { [self] in enqueue(.frame(bytes, from: sender, now: stamp)) }
        case let .connected(peer):
            // A peer that (re)connected may have missed votes: resend ours.
            if ConsortiumAddressing.replica(of: peer) != nil { retransmit() }
            log("connected to node \(peer)")
        case let .disconnected(peer):
            log("disconnected from node \(peer)")
        case let .rejected(reason):
            log("transport: \(reason)")
        }
    }

    /// Events produced while actions run (an executed block) are handled after the
    /// current action list, so actions always run in the order the core gave them.
    private func enqueue(_ event: Event) {
        loop.preconditionInEventLoop()
        pendingEvents.append(event)
        guard !draining else { return }
        draining = true
        while !pendingEvents.isEmpty {
            let next = pendingEvents.removeFirst()
            perform(replica.handle(next))
        }
        draining = false
    }

    private func perform(_ actions: [Action]) {
        for action in actions {
            switch action {
            case let .persist(record):
                do {
                    try votes.append(record)
                } catch {
                    // Sending a vote that is not durable could let a restart vote
                    // twice; stopping is the only safe answer.
                    log("fatal: cannot persist a vote: \(error)")
                    fatalError("vote log write failed: \(error)")
                }
            case let .send(message, to):
                transport.send(MessageCodec.encode(message), to: ConsortiumAddressing.node(of: to))
            case let .broadcast(message):
                transport.broadcast(MessageCodec.encode(message), to: members)
            case let .reply(reply, to):
                transport.send(MessageCodec.encode(.reply(reply)), to: ConsortiumAddressing.node(of: to))
            case let .execute(block):
                do {
                    let (root, results) = try executor.execute(block)
                    pendingEvents.append(.executed(sequence: block.sequence, stateRoot: root, results: results,
                                                   now: now()))
                } catch {
                    log("fatal: block \(block.sequence) could not be executed: \(error)")
                    fatalError("block execution failed: \(error)")
                }
            case let .setTimer(kind, after):
                timers[kind]?.cancel()
                timers[kind] = loop.scheduleTask(in: .nanoseconds(Int64(clamping: after))) { [self] in
                    timers[kind] = nil
                    enqueue(.timerFired(kind, now: now()))
                }
            case let .cancelTimer(kind):
                timers[kind]?.cancel()
                timers[kind] = nil
            case let .reject(rejection):
                log(rejection.description)
            case let .notice(notice):
                log("notice: \(notice)")
            }
        }
    }
}

/// Lets the transport's callback reach the host that owns it without a retain
/// cycle at init time.
private final class HostBox: @unchecked Sendable {
    weak var host: ReplicaHost?
}

/// A vote log in one append-only file: each record is a 4-byte big-endian length
/// and the record's canonical bytes, followed by fsync. On load, a torn last
/// record (a crash mid-write) is ignored; anything else that does not decode is an
/// error, because silently dropping a vote could let the replica vote twice.
public final class FileVoteLog: VoteLog {
    private let fd: Int32
    public let path: String

    public enum Failure: Error, CustomStringConvertible {
        case open(path: String, errno: Int32)
        case write(path: String, errno: Int32)
        case corrupt(path: String, offset: Int, reason: String)

        public var description: String {
            switch self {
            case let .open(path, code): return "vote log: cannot open \(path): \(String(cString: strerror(code)))"
            case let .write(path, code): return "vote log: write to \(path) failed: \(String(cString: strerror(code)))"
            case let .corrupt(path, offset, reason): return "vote log: \(path) is corrupt at byte \(offset): \(reason)"
            }
        }
    }

    public init(path: String) throws {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_APPEND, 0o600)
        guard fd >= 0 else { throw Failure.open(path: path, errno: errno) }
    }

    deinit { close(fd) }

    public func append(_ record: PersistRecord) throws {
        let body = PersistRecordCodec.encode(record)
        var bytes = withUnsafeBytes(of: UInt32(body.count).bigEndian) { Array($0) }
        bytes += body
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure.write(path: path, errno: errno)
            }
            written += n
        }
        guard fsync(fd) == 0 else { throw Failure.write(path: path, errno: errno) }
    }

    /// Replays the log into `state`.
    public func load(into state: inout DurableState, limits: CodecLimits) throws {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var offset: off_t = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure.write(path: path, errno: errno)
            }
            if n == 0 { break }
            bytes += buffer[0..<n]
            offset += off_t(n)
        }
        var position = 0
        while position + 4 <= bytes.count {
            let length = bytes[position..<position + 4].reduce(0) { $0 << 8 | Int($1) }
            guard position + 4 + length <= bytes.count else { break }   // torn tail
            do {
                state.apply(try PersistRecordCodec.decode(Array(bytes[position + 4..<position + 4 + length]),
                                                          limits: limits))
            } catch {
                throw Failure.corrupt(path: path, offset: position, reason: "\(error)")
            }
            position += 4 + length
        }
    }
}
