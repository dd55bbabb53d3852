import Cryptography
@testable import Network
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// Polls `condition` until it holds or `seconds` pass; the caller asserts the result.
func eventually(_ seconds: Double = 10, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// Collects what a transport reports.
final class Inbox: Sendable {
    private let box = NIOLockedValueBox<[TransportEvent]>([])

    func record(_ event: TransportEvent) { box.withLockedValue { $0.append(event) } }

    var messages: [(NodeID, [UInt8])] {
        box.withLockedValue { events in
            events.compactMap { if case let .message(from, bytes) = $0 { return (from, bytes) } else { return nil } }
        }
    }

    var rejections: [String] {
        box.withLockedValue { events in
            events.compactMap { if case let .rejected(reason) = $0 { return reason } else { return nil } }
        }
    }
}

@Suite("Authenticated transport over loopback TCP", .serialized)
struct TransportTests {
    let cluster = SHA256.hash(Array("test-genesis".utf8))

    func keys(_ n: Int) throws -> [NodeID: Ed25519PrivateKey] {
        var keys: [NodeID: Ed25519PrivateKey] = [:]
        for id in 0..<n { keys[NodeID(id)] = try Ed25519PrivateKey(seed: [UInt8](repeating: UInt8(id + 10), count: 32)) }
        return keys
    }

    func makeTransport(_ id: NodeID, keys: [NodeID: Ed25519PrivateKey], group: EventLoopGroup, inbox: Inbox,
                       cluster: SHA256Digest? = nil, queueLimit: Int = 256 << 20) -> AuthenticatedTransport {
        let configuration = TransportConfiguration(
            clusterID: cluster ?? self.cluster, localID: id, privateKey: keys[id]!,
            directory: keys.mapValues(\.publicKey), acceptsFrom: Set(keys.keys.filter { $0 < id }),
            maximumFrameLength: 1 << 20, maximumQueuedBytesPerPeer: queueLimit,
            reconnectInitialDelay: .milliseconds(20), reconnectMaximumDelay: .milliseconds(200))
        return AuthenticatedTransport(configuration: configuration, group: group) { inbox.record($0) }
    }

    @Test func fourNodesFormAFullMeshAndDeliverFromEveryone() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let keys = try keys(4)
        let inboxes = (0..<4).map { _ in Inbox() }
        let transports = (0..<4).map { makeTransport(NodeID($0), keys: keys, group: group, inbox: inboxes[$0]) }
        var addresses: [NodeID: SocketAddress] = [:]
        for (i, t) in transports.enumerated() { addresses[NodeID(i)] = try await t.listen(host: "127.0.0.1", port: 0) }
        for (i, t) in transports.enumerated() {
            t.connect(to: addresses.filter { $0.key > NodeID(i) })
        }
        #expect(await eventually { transports.allSatisfy { $0.connectedPeers.count == 3 } })
        for (i, t) in transports.enumerated() {
            #expect(t.broadcast([UInt8(i), 42], to: NodeID(0)..<4) == 3)
        }
        #expect(await eventually { inboxes.allSatisfy { $0.messages.count == 3 } })
        for (i, inbox) in inboxes.enumerated() {
            let senders = Set(inbox.messages.map(\.0))
            #expect(senders == Set((0..<4).map(NodeID.init)).subtracting([NodeID(i)]))
            #expect(inbox.messages.allSatisfy { $0.1 == [UInt8($0.0), 42] })
        }
        for t in transports { await t.shutdown() }
        try await group.shutdownGracefully()
    }

    @Test func aRestartedPeerIsRedialedAndServesAgain() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let keys = try keys(2)
        let inbox0 = Inbox()
        let t0 = makeTransport(0, keys: keys, group: group, inbox: inbox0)
        var t1 = makeTransport(1, keys: keys, group: group, inbox: Inbox())
        _ = try await t0.listen(host: "127.0.0.1", port: 0)
        let address1 = try await t1.listen(host: "127.0.0.1", port: 0)
        t0.connect(to: [1: address1])
        #expect(await eventually { t0.connectedPeers == [1] })
        await t1.shutdown()
        #expect(await eventually { t0.connectedPeers.isEmpty })
        #expect(!t0.send([1], to: 1))   // dropped while the peer is away

        let inbox1 = Inbox()
        t1 = makeTransport(1, keys: keys, group: group, inbox: inbox1)
        _ = try await t1.listen(host: "127.0.0.1", port: address1.port ?? 0)
        #expect(await eventually { t0.connectedPeers == [1] })
        #expect(t0.send([9, 9], to: 1))
        #expect(await eventually { inbox1.messages.count == 1 })
        #expect(inbox1.messages.first?.1 == [9, 9])
        await t0.shutdown()
        await t1.shutdown()
        try await group.shutdownGracefully()
    }

    @Test func anotherClusterNeverConnects() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let keys = try keys(2)
        let inbox1 = Inbox()
        let t0 = makeTransport(0, keys: keys, group: group, inbox: Inbox(), cluster: SHA256.hash(Array("x".utf8)))
        let t1 = makeTransport(1, keys: keys, group: group, inbox: inbox1)
        let address1 = try await t1.listen(host: "127.0.0.1", port: 0)
        t0.connect(to: [1: address1])
        #expect(await eventually { inbox1.rejections.contains { $0.contains("another cluster") } })
        #expect(t0.connectedPeers.isEmpty && t1.connectedPeers.isEmpty)
        await t0.shutdown()
        await t1.shutdown()
        try await group.shutdownGracefully()
    }

    @Test func anOversizeFrameDropsOnlyThatConnection() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let keys = try keys(2)
        let inbox1 = Inbox()
        let t0 = makeTransport(0, keys: keys, group: group, inbox: Inbox())
        let t1 = makeTransport(1, keys: keys, group: group, inbox: inbox1)
        let address1 = try await t1.listen(host: "127.0.0.1", port: 0)
        t0.connect(to: [1: address1])
        #expect(await eventually { t1.connectedPeers == [0] })

        // A raw client claims a 2 GiB frame.
        let raw = try await ClientBootstrap(group: group).connect(to: address1).get()
        var buffer = raw.allocator.buffer(capacity: 8)
        buffer.writeInteger(UInt32(1 << 31))
        buffer.writeInteger(UInt32(0))
        try await raw.writeAndFlush(buffer).get()
        try await raw.closeFuture.get()
        #expect(inbox1.rejections.contains { $0.contains("exceeds the limit") })
        // The member connection is untouched.
        #expect(t1.connectedPeers == [0])
        #expect(t0.send([5], to: 1))
        #expect(await eventually { inbox1.messages.count == 1 })
        await t0.shutdown()
        await t1.shutdown()
        try await group.shutdownGracefully()
    }

    @Test func aPeerThatStopsReadingCannotMakeUsBufferWithoutBound() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let keys = try keys(2)
        let limit = 256 << 10
        let t0 = makeTransport(0, keys: keys, group: group, inbox: Inbox(), queueLimit: limit)
        let t1 = makeTransport(1, keys: keys, group: group, inbox: Inbox())
        let address1 = try await t1.listen(host: "127.0.0.1", port: 0)
        t0.connect(to: [1: address1])
        #expect(await eventually { t1.connectedPeers == [0] && t0.connectedPeers == [1] })
        // Freeze node 1's side of the connection: it stops reading from the socket.
        try await t1.pauseReading(from: 0)

        let payload = [UInt8](repeating: 0xAB, count: 16 << 10)
        var accepted = 0
        for _ in 0..<4_000 where t0.send(payload, to: 1) { accepted += 1 }
        // 64 MiB offered; what was queued stays near the bound plus socket buffers.
        #expect(accepted < 4_000)
        #expect(t0.statistics.droppedFrames > 0)
        #expect(accepted * payload.count < 32 << 20)
        await t0.shutdown()
        await t1.shutdown()
        try await group.shutdownGracefully()
    }
}
