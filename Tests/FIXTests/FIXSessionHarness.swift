@testable import FIX

enum Side: Hashable { case acceptor, initiator
    var other: Side { self == .acceptor ? .initiator : .acceptor }
}

/// One end of a simulated connection: the session plus everything its I/O
/// shell would keep (timers, persisted state, delivered messages).
struct Peer {
    var session: FIXSession
    var timers: [FIXSessionTimer: Int64] = [:]
    var delivered: [FIXMessage] = []
    var sentFrames: [FIXMessage] = []
    var disconnects: [FIXDisconnectReason] = []
    var logons: [Logon] = []
    var persistedOutbound: [Int: [UInt8]] = [:]
    var persistedSender = 1
    var persistedTarget = 1
    var connected = false

    init(_ session: FIXSession) { self.session = session }

    /// What a gateway would have on disk.
    var persistedState: FIXSessionState {
        FIXSessionState(nextSenderSeqNum: persistedSender, nextTargetSeqNum: persistedTarget, sentMessages: persistedOutbound)
    }
}

/// Two sessions wired back to back with an in-order "TCP" between them, a fake
/// clock, and a filter that can drop frames in flight.
struct SessionLink {
    enum Wire { case frame([UInt8]), close }
    var peers: [Side: Peer]
    var inFlight: [(to: Side, wire: Wire)] = []
    var now: Int64
    /// Return true to lose this frame on the way.
    var drop: (_ from: Side, _ message: FIXMessage) -> Bool = { _, _ in false }

    static let acceptorID = "CLEARLEDGER"
    static let initiatorID = "CLIENT1"

    static func configuration(_ role: FIXSessionRole, heartBtInt: Int = 30, password: String? = "secret", targetCompID: String? = nil) -> FIXSessionConfiguration {
        switch role {
        case .acceptor:
            return FIXSessionConfiguration(role: .acceptor, senderCompID: acceptorID, targetCompID: targetCompID ?? initiatorID,
                                           applicationMessageTypes: FIXSessionConfiguration.orderEntryMessageTypes)
        case .initiator:
            return FIXSessionConfiguration(role: .initiator, senderCompID: initiatorID, targetCompID: targetCompID ?? acceptorID,
                                           heartBtInt: heartBtInt, username: initiatorID, password: password)
        }
    }

    static let verifier: FIXCredentialVerifier = { sender, _, password in sender == initiatorID && password == "secret" }

    init(acceptor: FIXSession? = nil, initiator: FIXSession? = nil, now: Int64 = sampleNanos) {
        peers = [
            .acceptor: Peer(acceptor ?? FIXSession(configuration: Self.configuration(.acceptor), verifier: Self.verifier)),
            .initiator: Peer(initiator ?? FIXSession(configuration: Self.configuration(.initiator))),
        ]
        self.now = now
    }

    subscript(side: Side) -> Peer {
        get { peers[side]! }
        set { peers[side] = newValue }
    }

    mutating func apply(_ actions: [FIXSessionAction], from side: Side) {
        for action in actions {
            switch action {
            case .send(let bytes):
                let m = try! FIXDecoder().decode(bytes)
                self[side].sentFrames.append(m)
                if !drop(side, m) { inFlight.append((side.other, .frame(bytes))) }
            case .persistOutbound(let seq, let frame):
                self[side].persistedOutbound[seq] = frame
                self[side].persistedSender = max(self[side].persistedSender, seq + 1)
            case .persistSequenceNumbers(let s, let t):
                self[side].persistedSender = s
                self[side].persistedTarget = t
            case .deliver(let m):
                self[side].delivered.append(m)
            case .loggedOn(let logon):
                self[side].logons.append(logon)
            case .disconnect(let reason):
                self[side].disconnects.append(reason)
                self[side].connected = false
                self[side].timers.removeAll()
                inFlight.append((side.other, .close))
            case .setTimer(let t, let at):
                self[side].timers[t] = at
            case .cancelTimer(let t):
                self[side].timers[t] = nil
            }
        }
    }

    mutating func connect() {
        self[.acceptor].connected = true
        self[.initiator].connected = true
        apply(self[.acceptor].session.connected(now: now), from: .acceptor)
        apply(self[.initiator].session.connected(now: now), from: .initiator)
        pump()
    }

    /// Delivers everything in flight (and what it causes) in order.
    mutating func pump(limit: Int = 100_000) {
        var steps = 0
        while !inFlight.isEmpty && steps < limit {
            steps += 1
            let (to, wire) = inFlight.removeFirst()
            guard self[to].connected else { continue }
            switch wire {
            case .frame(let bytes):
                let actions = self[to].session.received(bytes, now: now)
                apply(actions, from: to)
            case .close:
                self[to].connected = false
                apply(self[to].session.disconnected(), from: to)
            }
        }
    }

    /// Moves the clock, firing due timers in time order.
    mutating func advance(by nanos: Int64) {
        let end = now + nanos
        while true {
            var next: (Side, FIXSessionTimer, Int64)?
            for side in [Side.acceptor, .initiator] {
                for (t, at) in self[side].timers where at <= end && (next == nil || at < next!.2) {
                    next = (side, t, at)
                }
            }
            guard let (side, timer, at) = next else { break }
            now = max(now, at)
            self[side].timers[timer] = nil
            apply(self[side].session.timerFired(timer, now: now), from: side)
            pump()
        }
        now = end
    }

    mutating func send(_ body: FIXBody, from side: Side) {
        apply(self[side].session.send(body, now: now), from: side)
        pump()
    }

    /// Injects a raw frame as if the other side had sent it.
    mutating func inject(_ bytes: [UInt8], to side: Side) {
        apply(self[side].session.received(bytes, now: now), from: side)
        pump()
    }
}

func order(_ n: Int) -> FIXBody {
    NewOrderSingle(clOrdID: "ORD-\(n)", account: "ACC-1", symbol: "ACME", side: .buy, orderQty: Int64(n), ordType: .limit,
                   price: "10.25", transactTime: sampleNanos).body()
}

func report(_ n: Int) -> FIXBody {
    ExecutionReport(orderID: "O-\(n)", clOrdID: "ORD-\(n)", execID: "E-\(n)", execType: .new, ordStatus: .new, symbol: "ACME",
                    side: .buy, leavesQty: Int64(n), cumQty: 0, avgPx: FIXDecimal(units: 0, scale: 0)).body()
}
