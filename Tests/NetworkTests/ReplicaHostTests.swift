import Cryptography
import Foundation
@testable import Network
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PBFT
import Testing

/// Chains each block's digest into a running root: enough application state to
/// show that every member executed the same blocks in the same order.
final class HashChainExecutor: BlockExecutor, @unchecked Sendable {
    private let lock = NIOLock()
    private var root = SHA256Digest.zero
    private var executed: [(UInt64, SHA256Digest)] = []
    private var requestCount = 0

    func execute(_ block: ExecutableBlock) throws -> (stateRoot: SHA256Digest, results: [ExecutionResult]) {
        lock.withLock {
            root = SHA256.hash(root.bytes + block.digest.bytes)
            executed.append((block.sequence, root))
            requestCount += block.requests.count
            return (root, block.requests.map { ExecutionResult(status: .applied, result: Array($0.payload.prefix(8))) })
        }
    }

    var history: [(UInt64, SHA256Digest)] { lock.withLock { executed } }
    var requests: Int { lock.withLock { requestCount } }
}

@Suite("Replica host: the PBFT core over real TCP", .serialized)
struct ReplicaHostTests {
    @Test func fourMembersCommitAndAClientAcceptsFPlusOneReplies() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let directory = try TemporaryDirectory()
        let memberKeys = try (0..<4).map { try Ed25519PrivateKey(seed: [UInt8](repeating: UInt8(40 + $0), count: 32)) }
        let clientKey = try Ed25519PrivateKey(seed: [UInt8](repeating: 99, count: 32))
        let clientID = ClientID(1)
        let configuration = try Configuration(
            members: memberKeys.map(\.publicKey), checkpointInterval: 4,
            batch: BatchPolicy(maxRequests: 8, maxBytes: 1 << 20, timeout: 1_000_000),
            clients: [AuthorizedClient(id: clientID, kind: .exchange, publicKey: clientKey.publicKey)],
            maxPayloadBytes: 64 << 10)
        let cluster = SHA256.hash(Array("replica-host-test".utf8))
        var nodeKeys: [NodeID: Ed25519PublicKey] = [:]
        for (i, key) in memberKeys.enumerated() { nodeKeys[NodeID(i)] = key.publicKey }
        let clientNode = ConsortiumAddressing.node(of: clientID)
        nodeKeys[clientNode] = clientKey.publicKey

        let executors = (0..<4).map { _ in HashChainExecutor() }
        var hosts: [ReplicaHost] = []
        var addresses: [NodeID: SocketAddress] = [:]
        for i in 0..<4 {
            let replica = Replica(configuration: configuration, id: ReplicaID(UInt16(i)),
                                  signer: Ed25519MessageSigner(key: memberKeys[i]))
            let transport = TransportConfiguration(
                clusterID: cluster, localID: NodeID(i), privateKey: memberKeys[i], directory: nodeKeys,
                acceptsFrom: Set((0..<i).map(NodeID.init)).union([clientNode]),
                reconnectInitialDelay: .milliseconds(20), reconnectMaximumDelay: .milliseconds(200))
            let host = ReplicaHost(replica: replica, transportConfiguration: transport, group: group,
                                   executor: executors[i],
                                   votes: try FileVoteLog(path: directory.path("votes-\(i).log")))
            addresses[NodeID(i)] = try await host.transport.listen(host: "127.0.0.1", port: 0)
            hosts.append(host)
        }
        for (i, host) in hosts.enumerated() { host.transport.connect(to: addresses.filter { $0.key > NodeID(i) }) }

        // The client: connects to every member, sends each request to all of them.
        let tracker = NIOLockedValueBox(ClientRequestTracker(configuration: configuration))
        let accepted = NIOLockedValueBox<[AcceptedReply]>([])
        let client = AuthenticatedTransport(
            configuration: TransportConfiguration(clusterID: cluster, localID: clientNode, privateKey: clientKey,
                                                  directory: nodeKeys, acceptsFrom: []),
            group: group
        ) { event in
            guard case let .message(from, bytes) = event, let replica = ConsortiumAddressing.replica(of: from),
                  case let .reply(reply)? = try? MessageCodec.decode(bytes, limits: configuration.codecLimits)
            else { return }
            if case let .accepted(answer) = tracker.withLockedValue({ $0.handle(reply, from: replica) }) {
                accepted.withLockedValue { $0.append(answer) }
            }
        }
        client.connect(to: addresses)
        #expect(await eventually { client.connectedPeers.count == 4 && hosts.allSatisfy { $0.transport.connectedPeers.count == 4 } })

        func send(_ ids: ClosedRange<UInt64>, to members: [NodeID]) throws {
            for id in ids {
                let request = try ClientRequest(client: clientID, requestID: id, kind: .exchange,
                                                payload: Array("settle batch \(id)".utf8)).signed(by: clientKey)
                tracker.withLockedValue { $0.track(request.key) }
                for member in members { client.send(MessageCodec.encode(.request(request)), to: member) }
            }
        }

        try send(1...20, to: Array(addresses.keys))
        #expect(await eventually(20) { accepted.withLockedValue { $0.count } == 20 })
        #expect(await eventually { executors.allSatisfy { $0.requests == 20 } })
        let reference = executors[0].history
        for executor in executors {
            #expect(executor.history.map(\.0) == reference.map(\.0))
            #expect(executor.history.map(\.1) == reference.map(\.1))
        }
        #expect(Set(accepted.withLockedValue { $0.map(\.key.requestID) }) == Set(1...20))

        // One backup goes away: 2f+1 = 3 members still commit.
        await hosts[3].shutdown()
        try send(21...30, to: [0, 1, 2])
        #expect(await eventually(20) { accepted.withLockedValue { $0.count } == 30 })
        // f+1 replies can arrive before every live member has executed: wait for them.
        #expect(await eventually { executors.prefix(3).allSatisfy { $0.requests == 30 } })
        #expect(executors[0].history.map(\.1) == executors[1].history.map(\.1))
        #expect(executors[0].history.map(\.1) == executors[2].history.map(\.1))

        await client.shutdown()
        for host in hosts.prefix(3) { await host.shutdown() }
        try await group.shutdownGracefully()
    }

    @Test func voteLogRoundTripsAndIgnoresATornTail() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("votes.log")
        let key = try Ed25519PrivateKey(seed: [UInt8](repeating: 5, count: 32))
        let configuration = try Configuration(
            members: try (0..<4).map { try Ed25519PrivateKey(seed: [UInt8](repeating: UInt8(60 + $0), count: 32)).publicKey },
            clients: [AuthorizedClient(id: ClientID(1), kind: .admin, publicKey: key.publicKey)])
        let signer = Ed25519MessageSigner(key: key)
        let batch = Batch(timestamp: 7, requests: [])
        let prePrepare = Signed(body: PrePrepare(view: 0, sequence: 1, digest: batch.digest, replica: ReplicaID(0)),
                                signature: signer.signature(for: [1, 2, 3]))
        let record = PersistRecord.prePrepared(AcceptedPrePrepare(prePrepare: prePrepare, batch: batch))
        do {
            let log = try FileVoteLog(path: path)
            try log.append(record)
        }
        // A crash in the middle of the next record leaves a partial length + body.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0, 0, 1, 0, 42, 42]))
        try handle.close()

        var state = DurableState()
        try FileVoteLog(path: path).load(into: &state, limits: configuration.codecLimits)
        #expect(state.prePrepared[1]?.batch == batch)
    }
}

/// A scratch directory for vote logs, removed when the test ends.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("clearledger-net-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}
