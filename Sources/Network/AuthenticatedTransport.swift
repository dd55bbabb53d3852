import Cryptography
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Settings of one endpoint of the consortium network.
public struct TransportConfiguration: Sendable {
    /// Genesis hash: connections between different consortia fail the handshake.
    public var clusterID: SHA256Digest
    public var localID: NodeID
    public var privateKey: Ed25519PrivateKey
    /// Every node this endpoint may talk to, with its key.
    public var directory: [NodeID: Ed25519PublicKey]
    /// Which nodes may connect to this endpoint's listener.
    public var acceptsFrom: Set<NodeID>
    public var maximumFrameLength: Int
    /// Bytes queued towards one peer beyond which sends are dropped: a slow peer
    /// must not make this node buffer without bound. Consensus recovers lost
    /// messages (retransmission, view change, state transfer).
    public var maximumQueuedBytesPerPeer: Int
    public var handshakeTimeout: TimeAmount
    public var reconnectInitialDelay: TimeAmount
    public var reconnectMaximumDelay: TimeAmount

    public init(clusterID: SHA256Digest, localID: NodeID, privateKey: Ed25519PrivateKey,
                directory: [NodeID: Ed25519PublicKey], acceptsFrom: Set<NodeID>,
                maximumFrameLength: Int = 64 << 20, maximumQueuedBytesPerPeer: Int = 256 << 20,
                handshakeTimeout: TimeAmount = .seconds(5), reconnectInitialDelay: TimeAmount = .milliseconds(50),
                reconnectMaximumDelay: TimeAmount = .seconds(2)) {
        self.clusterID = clusterID
        self.localID = localID
        self.privateKey = privateKey
        self.directory = directory
        self.acceptsFrom = acceptsFrom
        self.maximumFrameLength = maximumFrameLength
        self.maximumQueuedBytesPerPeer = maximumQueuedBytesPerPeer
        self.handshakeTimeout = handshakeTimeout
        self.reconnectInitialDelay = reconnectInitialDelay
        self.reconnectMaximumDelay = reconnectMaximumDelay
    }
}

public enum TransportError: Error, CustomStringConvertible {
    case noLocalAddress(host: String, port: Int)

    public var description: String {
        switch self {
        case let .noLocalAddress(host, port): return "listen: no local address after binding \(host):\(port)"
        }
    }
}

/// What the transport tells its owner, from NIO's threads.
public enum TransportEvent: Sendable {
    case message(from: NodeID, bytes: [UInt8])
    case connected(NodeID)
    case disconnected(NodeID)
    /// A connection attempt or an inbound connection failed; the text says why.
    case rejected(String)
}

/// Counters for status pages and tests.
public struct TransportStatistics: Sendable, Equatable {
    public var sentFrames = 0
    public var receivedFrames = 0
    public var droppedFrames = 0
    public var rejectedConnections = 0
}

/// Length-framed, mutually authenticated TCP connections between the members of
/// a consortium and its clients: one persistent connection per pair (the lower
/// member id dials the higher; clients dial members), reconnection with
/// exponential back-off, and a bound on what may queue towards a slow peer.
///
/// Thread-safe: `send` and `broadcast` may be called from any thread. Events are
/// delivered on NIO's threads through `onEvent`.
public final class AuthenticatedTransport: Sendable {
    private struct Peer {
        var channel: Channel?
        var queuedBytes = 0
        var dialAddress: SocketAddress?
        var reconnectDelay: TimeAmount
    }

    private struct State {
        var peers: [NodeID: Peer] = [:]
        var statistics = TransportStatistics()
        var listener: Channel?
        var running = true
    }

    public let configuration: TransportConfiguration
    private let group: EventLoopGroup
    private let onEvent: @Sendable (TransportEvent) -> Void
    private let state = NIOLockedValueBox(State())

    public init(configuration: TransportConfiguration, group: EventLoopGroup,
                onEvent: @escaping @Sendable (TransportEvent) -> Void) {
        self.configuration = configuration
        self.group = group
        self.onEvent = onEvent
    }

    public var statistics: TransportStatistics { state.withLockedValue { $0.statistics } }

    /// Ids of peers with an established connection.
    public var connectedPeers: Set<NodeID> {
        state.withLockedValue { Set($0.peers.filter { $0.value.channel != nil }.keys) }
    }

    /// Starts accepting connections; returns the bound address (port 0 picks one).
    public func listen(host: String, port: Int) async throws -> SocketAddress {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.installHandlers(on: channel, expectedPeer: nil)
                }
            }
        let listener = try await bootstrap.bind(host: host, port: port).get()
        state.withLockedValue { $0.listener = listener }
        guard let address = listener.localAddress else { throw TransportError.noLocalAddress(host: host, port: port) }
        return address
    }

    /// Keeps a connection to each of `peers` open, redialing with back-off.
    public func connect(to peers: [NodeID: SocketAddress]) {
        for (id, address) in peers {
            state.withLockedValue {
                $0.peers[id, default: Peer(reconnectDelay: configuration.reconnectInitialDelay)].dialAddress = address
            }
            dial(id, address)
        }
    }

    /// Queues `bytes` to `peer`; false when it was dropped (not connected, or the
    /// peer's queue is over its bound).
    @discardableResult
    public func send(_ bytes: [UInt8], to peer: NodeID) -> Bool {
        let frameSize = bytes.count + 5
        let channel: Channel? = state.withLockedValue { state in
            guard let entry = state.peers[peer], let channel = entry.channel,
                  entry.queuedBytes + frameSize <= configuration.maximumQueuedBytesPerPeer else {
                state.statistics.droppedFrames += 1
                return nil
            }
            state.peers[peer]?.queuedBytes += frameSize
            state.statistics.sentFrames += 1
            return channel
        }
        guard let channel else { return false }
        var buffer = channel.allocator.buffer(capacity: bytes.count + 1)
        buffer.writeInteger(Self.dataTag)
        buffer.writeBytes(bytes)
        channel.writeAndFlush(buffer).whenComplete { [state] _ in
            state.withLockedValue { state in
                // A replaced connection's writes no longer count against the new one.
                if state.peers[peer]?.channel === channel { state.peers[peer]?.queuedBytes -= frameSize }
            }
        }
        return true
    }

    /// Sends to every connected peer except this node; returns how many were queued.
    @discardableResult
    public func broadcast(_ bytes: [UInt8], to peers: some Sequence<NodeID>) -> Int {
        var queued = 0
        for peer in peers where peer != configuration.localID {
            if send(bytes, to: peer) { queued += 1 }
        }
        return queued
    }

    /// Closes the listener and every connection; no redialing afterwards.
    public func shutdown() async {
        let channels: [Channel] = state.withLockedValue { state in
            state.running = false
            var all = state.peers.values.compactMap(\.channel)
            if let listener = state.listener { all.append(listener) }
            return all
        }
        for channel in channels {
            try? await channel.close().get()
        }
    }

    /// Stops reading from `peer`'s connection, as a slow or stuck peer would;
    /// for tests of the queue bound.
    func pauseReading(from peer: NodeID) async throws {
        guard let channel = state.withLockedValue({ $0.peers[peer]?.channel }) else { return }
        try await channel.setOption(.autoRead, value: false).get()
    }

    // MARK: - Connections

    static let dataTag: UInt8 = 0x10

    private func dial(_ id: NodeID, _ address: SocketAddress) {
        guard state.withLockedValue({ $0.running }) else { return }
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.seconds(2))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.installHandlers(on: channel, expectedPeer: id)
                }
            }
        bootstrap.connect(to: address).whenComplete { [self] result in
            switch result {
            case .success(let channel):
                // Redial when this connection ends, whatever ended it.
                channel.closeFuture.whenComplete { [self] _ in self.scheduleRedial(id) }
            case .failure(let error):
                onEvent(.rejected("dial node \(id) at \(address): \(error)"))
                scheduleRedial(id)
            }
        }
    }

    private func scheduleRedial(_ id: NodeID) {
        let next: (TimeAmount, SocketAddress)? = state.withLockedValue { state in
            guard state.running, var peer = state.peers[id], let address = peer.dialAddress else { return nil }
            if peer.channel != nil { return nil }
            let delay = peer.reconnectDelay
            peer.reconnectDelay = min(peer.reconnectDelay * 2, configuration.reconnectMaximumDelay)
            state.peers[id] = peer
            return (delay, address)
        }
        guard let (delay, address) = next else { return }
        group.next().scheduleTask(in: delay) { [self] in self.dial(id, address) }
    }

    private func installHandlers(on channel: Channel, expectedPeer: NodeID?) throws {
        var nonce = [UInt8](repeating: 0, count: 32)
        for i in 0..<32 { nonce[i] = UInt8.random(in: 0...255) }
        let handshake = Handshake(clusterID: configuration.clusterID, localID: configuration.localID,
                                  nonce: nonce, expectedPeer: expectedPeer)
        try channel.pipeline.syncOperations.addHandlers([
            ByteToMessageHandler(FrameDecoder(maximumFrameLength: configuration.maximumFrameLength)),
            MessageToByteHandler(FrameEncoder()),
            ConnectionHandler(transport: self, handshake: handshake),
        ])
    }

    /// Called on the channel's loop once the peer proved its key.
    fileprivate func established(_ peer: NodeID, channel: Channel) {
        let replaced: Channel? = state.withLockedValue { state in
            var entry = state.peers[peer] ?? Peer(reconnectDelay: configuration.reconnectInitialDelay)
            let old = entry.channel
            entry.channel = channel
            entry.queuedBytes = 0
            entry.reconnectDelay = configuration.reconnectInitialDelay
            state.peers[peer] = entry
            return old === channel ? nil : old
        }
        // A restarted peer dials again: the newer connection wins.
        replaced?.close(promise: nil)
        onEvent(.connected(peer))
    }

    fileprivate func closed(_ peer: NodeID, channel: Channel) {
        let wasCurrent: Bool = state.withLockedValue { state in
            guard state.peers[peer]?.channel === channel else { return false }
            state.peers[peer]?.channel = nil
            state.peers[peer]?.queuedBytes = 0
            return true
        }
        if wasCurrent { onEvent(.disconnected(peer)) }
    }

    fileprivate func received(_ bytes: [UInt8], from peer: NodeID) {
        state.withLockedValue { $0.statistics.receivedFrames += 1 }
        onEvent(.message(from: peer, bytes: bytes))
    }

    fileprivate func rejected(_ reason: String) {
        state.withLockedValue { $0.statistics.rejectedConnections += 1 }
        onEvent(.rejected(reason))
    }

    fileprivate func accepts(_ id: NodeID) -> Bool { configuration.acceptsFrom.contains(id) }
}

/// Runs the handshake, then hands data frames to the transport.
private final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let transport: AuthenticatedTransport
    private var handshake: Handshake
    private var peer: NodeID?
    private var timeout: Scheduled<Void>?

    init(transport: AuthenticatedTransport, handshake: Handshake) {
        self.transport = transport
        self.handshake = handshake
    }

    func channelActive(context: ChannelHandlerContext) {
        write(handshake.hello(), context: context)
        let channel = context.channel
        let transport = self.transport
        timeout = context.eventLoop.scheduleTask(in: transport.configuration.handshakeTimeout) {
            transport.rejectedTimeout(channel)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        if let peer { transport.closedConnection(peer, channel: context.channel) }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var frame = unwrapInboundIn(data)
        if let peer {
            guard frame.readInteger(as: UInt8.self) == AuthenticatedTransport.dataTag else {
                transport.rejectedConnection("node \(peer): unknown frame tag after handshake")
                context.close(promise: nil)
                return
            }
            transport.receivedFrame(frame.readBytes(length: frame.readableBytes) ?? [], from: peer)
            return
        }
        let bytes = frame.readBytes(length: frame.readableBytes) ?? []
        do {
            let outputs = try handshake.receive(bytes, signer: transport.configuration.privateKey,
                                                directory: transport.configuration.directory,
                                                allowed: { [transport] in transport.acceptsNode($0) })
            for output in outputs {
                switch output {
                case .send(let reply):
                    write(reply, context: context)
                case .established(let id):
                    timeout?.cancel()
                    peer = id
                    transport.establishedConnection(id, channel: context.channel)
                }
            }
        } catch {
            transport.rejectedConnection("\(context.channel.remoteAddress.map { "\($0)" } ?? "peer"): \(error)")
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        transport.rejectedConnection("\(peer.map { "node \($0)" } ?? "peer"): \(error)")
        context.close(promise: nil)
    }

    private func write(_ bytes: [UInt8], context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }
}

extension AuthenticatedTransport {
    fileprivate func establishedConnection(_ peer: NodeID, channel: Channel) { established(peer, channel: channel) }
    fileprivate func closedConnection(_ peer: NodeID, channel: Channel) { closed(peer, channel: channel) }
    fileprivate func receivedFrame(_ bytes: [UInt8], from peer: NodeID) { received(bytes, from: peer) }
    fileprivate func rejectedConnection(_ reason: String) { rejected(reason) }
    fileprivate func acceptsNode(_ id: NodeID) -> Bool { accepts(id) }
    fileprivate func rejectedTimeout(_ channel: Channel) {
        rejected("\(channel.remoteAddress.map { "\($0)" } ?? "peer"): handshake timed out")
        channel.close(promise: nil)
    }
}
