/// Checks Logon credentials. The gateway answers from its participants file;
/// the session only asks, so it stays free of files and hashing.
public typealias FIXCredentialVerifier = @Sendable (_ senderCompID: String, _ username: String?, _ password: String?) -> Bool

public enum FIXSessionRole: Sendable, Equatable {
    /// Waits for the counterparty's Logon (the gateway).
    case acceptor
    /// Sends Logon on connect (`clearledger order`, tests).
    case initiator
}

public struct FIXSessionConfiguration: Sendable {
    public var role: FIXSessionRole
    /// Our CompID: SenderCompID on what we send, TargetCompID on what we receive.
    public var senderCompID: String
    /// The counterparty's CompID.
    public var targetCompID: String
    /// Initiator: the HeartBtInt (seconds) proposed in Logon.
    public var heartBtInt: Int
    /// Acceptor: the HeartBtInt values a Logon may ask for. 0 (no heartbeats)
    /// is outside the default so a dead peer is always noticed.
    public var acceptedHeartBtInt: ClosedRange<Int>
    /// Allowed |SendingTime − now| (SessionRejectReason 10 beyond it).
    public var sendingTimeTolerance: Int64
    /// Inbound silence allowed beyond HeartBtInt before we send a TestRequest,
    /// and again before we give up after it; a fraction of the interval, as
    /// QuickFIX does (1.2 × HeartBtInt by default).
    public var testRequestGraceFraction: Double
    public var logonTimeout: Int64
    public var logoutTimeout: Int64
    /// Application messages kept for answering ResendRequest; older ones are
    /// answered with GapFill (the gateway's store may keep more).
    public var resendWindow: Int
    /// Out-of-order messages held while a gap is being filled; more are dropped
    /// (the ResendRequest to infinity brings them again).
    public var maximumQueued: Int
    /// Acceptor: application MsgTypes delivered to the app; any other defined
    /// MsgType is answered with BusinessMessageReject 3, an undefined one with
    /// Reject 11. Nil delivers every application message.
    public var applicationMessageTypes: Set<FIXMsgType>?
    /// Initiator: credentials and whether Logon asks to reset both sequences.
    public var username: String?
    public var password: String?
    public var resetSeqNumOnLogon: Bool
    public var limits: FIXLimits

    public init(
        role: FIXSessionRole, senderCompID: String, targetCompID: String, heartBtInt: Int = 30,
        acceptedHeartBtInt: ClosedRange<Int> = 1...300, sendingTimeTolerance: Int64 = 120 * FIXTime.nanosecondsPerSecond,
        testRequestGraceFraction: Double = 0.2, logonTimeout: Int64 = 10 * FIXTime.nanosecondsPerSecond,
        logoutTimeout: Int64 = 5 * FIXTime.nanosecondsPerSecond, resendWindow: Int = 100_000, maximumQueued: Int = 10_000,
        applicationMessageTypes: Set<FIXMsgType>? = nil, username: String? = nil, password: String? = nil,
        resetSeqNumOnLogon: Bool = false, limits: FIXLimits = FIXLimits()
    ) {
        self.role = role
        self.senderCompID = senderCompID
        self.targetCompID = targetCompID
        self.heartBtInt = heartBtInt
        self.acceptedHeartBtInt = acceptedHeartBtInt
        self.sendingTimeTolerance = sendingTimeTolerance
        self.testRequestGraceFraction = testRequestGraceFraction
        self.logonTimeout = logonTimeout
        self.logoutTimeout = logoutTimeout
        self.resendWindow = resendWindow
        self.maximumQueued = maximumQueued
        self.applicationMessageTypes = applicationMessageTypes
        self.username = username
        self.password = password
        self.resetSeqNumOnLogon = resetSeqNumOnLogon
        self.limits = limits
    }

    /// What the exchange's gateway accepts: D, F, G in.
    public static let orderEntryMessageTypes: Set<FIXMsgType> = [.newOrderSingle, .orderCancelRequest, .orderCancelReplaceRequest]
}

/// What survives a restart of the gateway: both sequence numbers and the
/// application messages we sent (by MsgSeqNum, as framed), so a ResendRequest
/// after the restart is answered with the same messages.
public struct FIXSessionState: Sendable, Equatable {
    public var nextSenderSeqNum: Int
    public var nextTargetSeqNum: Int
    public var sentMessages: [Int: [UInt8]]

    public init(nextSenderSeqNum: Int = 1, nextTargetSeqNum: Int = 1, sentMessages: [Int: [UInt8]] = [:]) {
        self.nextSenderSeqNum = nextSenderSeqNum
        self.nextTargetSeqNum = nextTargetSeqNum
        self.sentMessages = sentMessages
    }
}

public enum FIXSessionTimer: Sendable, Hashable {
    /// Nothing sent for HeartBtInt: send Heartbeat.
    case heartbeat
    /// Nothing received for HeartBtInt + grace: TestRequest, then disconnect.
    case inboundSilence
    case logon
    case logout
}

public enum FIXDisconnectReason: Sendable, Equatable, CustomStringConvertible {
    case logoutCompleted
    case peerLoggedOut(String?)
    case firstMessageNotLogon(FIXMsgType?)
    case logonRejected(String)
    case logonTimeout
    case logoutTimeout
    case testRequestUnanswered
    case msgSeqNumTooLow(expected: Int, received: Int)
    case msgSeqNumMissing
    case compIDProblem(sender: String?, target: String?)
    case sendingTimeProblem
    case unsupportedBeginString(String)
    case frameTooLarge
    case protocolError(String)

    public var description: String {
        switch self {
        case .logoutCompleted: return "logout completed"
        case .peerLoggedOut(let t): return "counterparty logged out" + (t.map { ": \($0)" } ?? "")
        case .firstMessageNotLogon(let t): return "first message not a Logon (35=\(t?.rawValue ?? "?"))"
        case .logonRejected(let t): return "logon rejected: \(t)"
        case .logonTimeout: return "no Logon in time"
        case .logoutTimeout: return "no Logout reply in time"
        case .testRequestUnanswered: return "TestRequest unanswered"
        case .msgSeqNumTooLow(let e, let r): return "MsgSeqNum too low, expecting \(e) but received \(r)"
        case .msgSeqNumMissing: return "MsgSeqNum missing"
        case .compIDProblem(let s, let t): return "CompID problem (49=\(s ?? "") 56=\(t ?? ""))"
        case .sendingTimeProblem: return "SendingTime accuracy problem"
        case .unsupportedBeginString(let b): return "unsupported BeginString \(b)"
        case .frameTooLarge: return "frame too large"
        case .protocolError(let t): return t
        }
    }
}

/// What the session asks its I/O shell to do, in order. Persist actions come
/// before the send they cover: do them first (or in the same group commit) so
/// a message on the wire is always one a restart can resend.
public enum FIXSessionAction: Sendable {
    /// Write these bytes to the connection.
    case send([UInt8])
    /// Store an application message we are about to send (for resends after a
    /// restart); also means nextSenderSeqNum is now seqNum + 1.
    case persistOutbound(seqNum: Int, frame: [UInt8])
    /// Store both sequence numbers (after admin sends and every inbound message).
    case persistSequenceNumbers(nextSender: Int, nextTarget: Int)
    /// An in-sequence application message for the exchange, header checked.
    case deliver(FIXMessage)
    /// Logon completed (acceptor: accepted; initiator: acknowledged).
    case loggedOn(Logon)
    /// Close the connection (after sending anything before this action).
    case disconnect(FIXDisconnectReason)
    /// Arm (or re-arm) a one-shot timer for an absolute time; call
    /// `timerFired` then. At most one pending per kind.
    case setTimer(FIXSessionTimer, at: Int64)
    case cancelTimer(FIXSessionTimer)
}

/// The FIX 4.4 session layer as a deterministic value: events in (bytes
/// received, timer fired, app wants to send, connect, disconnect), actions out.
/// No clock is read; every event carries `now` (UTC epoch nanoseconds).
///
/// One value per counterparty, alive across connections: sequence numbers and
/// the resend store continue over reconnects, and `init(restoring:)` continues
/// them over process restarts from what the persist actions wrote.
///
/// Wiring it into an I/O shell (the NIO gateway, the order CLI):
/// - cut the byte stream with `FIXFramer`; hand each `.frame` to `received`,
///   drop `.garbled` bytes, call `frameTooLarge` on `.tooLarge`;
/// - an acceptor serving many counterparties peeks `compIDs(of:)` on the
///   first frame to pick the session (and its persisted state);
/// - carry out the actions in order on the session's event loop; persist
///   before sending; `setTimer` replaces the pending timer of that kind;
/// - `.deliver` messages are in sequence, header-checked, never duplicated
///   (PossDup repeats below the expected number are dropped here); parse them
///   with the typed views and answer a `FIXFieldError` with
///   `rejectDelivered`, or with a BusinessMessageReject / ExecutionReport.
public struct FIXSession: Sendable {
    public enum Status: Sendable, Equatable {
        case disconnected
        /// Connected; Logon not yet exchanged.
        case awaitingLogon
        case active
        /// We sent Logout and wait for the reply.
        case loggingOut
    }

    public let configuration: FIXSessionConfiguration
    private let verifier: FIXCredentialVerifier
    private let decoder: FIXDecoder
    /// CompIDs as they must appear on inbound messages (49 and 56).
    private let expectedSender: [UInt8]
    private let expectedTarget: [UInt8]

    public private(set) var status: Status = .disconnected
    public private(set) var nextSenderSeqNum: Int
    public private(set) var nextTargetSeqNum: Int
    private var sent: [Int: [UInt8]]
    /// Negotiated in Logon (seconds).
    public private(set) var heartBtInt: Int = 0
    private var lastSentAt: Int64 = 0
    private var lastReceivedAt: Int64 = 0
    private var testRequestOutstanding: String?
    private var testRequestCounter = 0
    /// Inbound gap: we asked for a resend and hold later messages meanwhile.
    private var resendRequestedThrough: Int?
    private var queue: [Int: QueuedInbound] = [:]
    private var sentResetOnLogon = false

    private enum QueuedInbound: Sendable {
        case frame([UInt8])
        /// Already acted on (Logon, ResendRequest); only its number is owed.
        case consumed
    }

    public init(configuration: FIXSessionConfiguration, verifier: @escaping FIXCredentialVerifier = { _, _, _ in true }) {
        self.init(configuration: configuration, restoring: FIXSessionState(), verifier: verifier)
    }

    public init(configuration: FIXSessionConfiguration, restoring state: FIXSessionState, verifier: @escaping FIXCredentialVerifier = { _, _, _ in true }) {
        self.configuration = configuration
        self.verifier = verifier
        self.decoder = FIXDecoder(limits: configuration.limits)
        expectedSender = Array(configuration.targetCompID.utf8)
        expectedTarget = Array(configuration.senderCompID.utf8)
        let highestStored = state.sentMessages.keys.max() ?? 0
        nextSenderSeqNum = max(state.nextSenderSeqNum, highestStored + 1, 1)
        nextTargetSeqNum = max(state.nextTargetSeqNum, 1)
        sent = state.sentMessages
    }

    /// A snapshot of what `init(restoring:)` needs.
    public var state: FIXSessionState {
        FIXSessionState(nextSenderSeqNum: nextSenderSeqNum, nextTargetSeqNum: nextTargetSeqNum, sentMessages: sent)
    }

    /// Peeks at SenderCompID/TargetCompID of a frame, so an acceptor that serves
    /// many counterparties can pick (or restore) the session before feeding it.
    public static func compIDs(of frame: [UInt8]) -> (sender: String, target: String)? {
        guard let m = try? FIXDecoder().decode(frame), let s = m.senderCompID, let t = m.targetCompID else { return nil }
        return (s, t)
    }

    // MARK: events

    public mutating func connected(now: Int64) -> [FIXSessionAction] {
        var out: [FIXSessionAction] = []
        connected(now: now, into: &out)
        return out
    }

    public mutating func connected(now: Int64, into out: inout [FIXSessionAction]) {
        resetConnectionState()
        status = .awaitingLogon
        lastReceivedAt = now
        lastSentAt = now
        out.append(.setTimer(.logon, at: now + configuration.logonTimeout))
        if configuration.role == .initiator {
            sentResetOnLogon = configuration.resetSeqNumOnLogon
            if sentResetOnLogon { resetSequences(&out) }
            heartBtInt = configuration.heartBtInt
            let logon = Logon(heartBtInt: configuration.heartBtInt, resetSeqNumFlag: sentResetOnLogon,
                              username: configuration.username, password: configuration.password)
            sendAdmin(logon.body(), now: now, &out)
        }
    }

    /// The connection is gone (closed by either side). Sequence numbers and the
    /// store are kept; everything about the connection is dropped.
    public mutating func disconnected() -> [FIXSessionAction] {
        var out: [FIXSessionAction] = []
        if status != .disconnected {
            out.append(contentsOf: [.cancelTimer(.heartbeat), .cancelTimer(.inboundSilence), .cancelTimer(.logon), .cancelTimer(.logout)])
        }
        status = .disconnected
        resetConnectionState()
        return out
    }

    public mutating func received(_ frame: [UInt8], now: Int64) -> [FIXSessionAction] {
        var out: [FIXSessionAction] = []
        received(frame, now: now, into: &out)
        return out
    }

    /// One complete frame from `FIXFramer`.
    public mutating func received(_ frame: [UInt8], now: Int64, into out: inout [FIXSessionAction]) {
        guard status != .disconnected else { return }
        let message: FIXMessage
        do {
            message = try decoder.decode(frame)
        } catch {
            switch error {
            case .garbled:
                return  // ignored, sequence number not consumed (FIX spec)
            case .unsupportedBeginString(let b):
                if status == .active { sendAdmin(Logout(text: "unsupported BeginString \(b)").body(), now: now, &out) }
                disconnect(.unsupportedBeginString(b), &out)
            case .invalid(let info):
                lastReceivedAt = now
                testRequestOutstanding = nil
                guard status == .active || status == .loggingOut else {
                    // Nothing is answered before a valid Logon: the peer is not yet known.
                    if info.refMsgType == FIXMsgType.logon.rawValue {
                        disconnect(.logonRejected(info.text), &out)
                    } else {
                        disconnect(.firstMessageNotLogon(info.refMsgType.map(FIXMsgType.init)), &out)
                    }
                    return
                }
                invalidFrame(info, frame: frame, now: now, &out)
            }
            return
        }
        lastReceivedAt = now
        testRequestOutstanding = nil
        if status == .awaitingLogon {
            if configuration.role == .initiator && message.msgType == .logout {
                // The acceptor refused our Logon; its Text says why.
                disconnect(.peerLoggedOut(message.string(FIXTag.text)), &out)
                return
            }
            guard message.msgType == .logon else {
                disconnect(.firstMessageNotLogon(message.msgType), &out)
                return
            }
            logon(message, now: now, &out)
            return
        }
        process(message, now: now, fromQueue: false, &out)
        drainQueue(now: now, &out)
    }

    /// The framer reported an oversized frame: nothing can be trusted after it.
    public mutating func frameTooLarge(now: Int64) -> [FIXSessionAction] {
        var out: [FIXSessionAction] = []
        if status == .active { sendAdmin(Logout(text: "message too large").body(), now: now, &out) }
        disconnect(.frameTooLarge, &out)
        return out
    }

    public mutating func timerFired(_ timer: FIXSessionTimer, now: Int64) -> [FIXSessionAction] {
        var out: [FIXSessionAction] = []
        timerFired(timer, now: now, into: &out)
        return out
    }

    public mutating func timerFired(_ timer: FIXSessionTimer, now: Int64, into out: inout [FIXSessionAction]) {
        switch timer {
        case .logon:
            if status == .awaitingLogon { disconnect(.logonTimeout, &out) }
        case .logout:
            if status == .loggingOut { disconnect(.logoutTimeout, &out) }
        case .heartbeat:
            guard status == .active || status == .loggingOut, heartBtInt > 0 else { return }
            let due = lastSentAt + interval
            if now >= due {
                sendAdmin(Heartbeat().body(), now: now, &out)
            }
            out.append(.setTimer(.heartbeat, at: lastSentAt + interval))
        case .inboundSilence:
            guard status == .active || status == .loggingOut, heartBtInt > 0 else { return }
            let due = lastReceivedAt + silenceLimit
            if now < due {
                out.append(.setTimer(.inboundSilence, at: due))
            } else if testRequestOutstanding == nil {
                testRequestCounter += 1
                let id = "TEST-\(testRequestCounter)"
                testRequestOutstanding = id
                sendAdmin(TestRequest(testReqID: id).body(), now: now, &out)
                // Measure the second wait from now, not from the last receipt.
                lastReceivedAt = now
                out.append(.setTimer(.inboundSilence, at: now + silenceLimit))
                testRequestOutstanding = id
            } else {
                disconnect(.testRequestUnanswered, &out)
            }
        }
    }

    /// Sends an application message (or stores it for a later resend when not
    /// logged on: the counterparty sees the gap at its next Logon and asks).
    public mutating func send(_ body: FIXBody, now: Int64) -> [FIXSessionAction] {
        var out: [FIXSessionAction] = []
        send(body, now: now, into: &out)
        return out
    }

    public mutating func send(_ body: FIXBody, now: Int64, into out: inout [FIXSessionAction]) {
        let seq = nextSenderSeqNum
        let frame = FIXEncoder.encode(body, header: header(seq: seq, now: now))
        nextSenderSeqNum += 1
        if body.msgType.isAdministrative {
            out.append(.persistSequenceNumbers(nextSender: nextSenderSeqNum, nextTarget: nextTargetSeqNum))
        } else {
            sent[seq] = frame
            sent.removeValue(forKey: seq - configuration.resendWindow)
            out.append(.persistOutbound(seqNum: seq, frame: frame))
        }
        if status == .active || status == .loggingOut || (status == .awaitingLogon && body.msgType == .logon) {
            out.append(.send(frame))
            lastSentAt = now
        }
    }

    /// Session-level Reject (3) for a delivered application message whose
    /// typed view failed: RefSeqNum, RefMsgType, RefTagID and the reason come
    /// from the message and the error (required tag missing → 1, bad value → 5,
    /// bad format → 6). The sequence number was already consumed on delivery.
    public mutating func rejectDelivered(_ message: FIXMessage, error: FIXFieldError, now: Int64) -> [FIXSessionAction] {
        var out: [FIXSessionAction] = []
        let reject = Reject(refSeqNum: message.msgSeqNum ?? 0, refTagID: error.tag, refMsgType: message.msgType.rawValue,
                            reason: error.rejectReason, text: error.description)
        send(reject.body(), now: now, into: &out)
        return out
    }

    /// Starts both sequences again at 1 and forgets stored messages (an
    /// operator's end-of-day reset). Only while disconnected: a live session
    /// resets through Logon with ResetSeqNumFlag instead.
    public mutating func resetSequenceNumbers() -> [FIXSessionAction] {
        guard status == .disconnected else { return [] }
        var out: [FIXSessionAction] = []
        resetSequences(&out)
        return out
    }

    /// Starts an orderly logout: Logout now, disconnect on the reply or timeout.
    public mutating func logout(text: String? = nil, now: Int64) -> [FIXSessionAction] {
        var out: [FIXSessionAction] = []
        guard status == .active else {
            if status == .awaitingLogon { disconnect(.logoutCompleted, &out) }
            return out
        }
        sendAdmin(Logout(text: text).body(), now: now, &out)
        status = .loggingOut
        out.append(.setTimer(.logout, at: now + configuration.logoutTimeout))
        return out
    }

    // MARK: internals

    private var interval: Int64 { Int64(heartBtInt) * FIXTime.nanosecondsPerSecond }
    private var silenceLimit: Int64 { interval + Int64(Double(interval) * configuration.testRequestGraceFraction) }

    private func header(seq: Int, now: Int64) -> FIXHeader {
        FIXHeader(senderCompID: configuration.senderCompID, targetCompID: configuration.targetCompID, msgSeqNum: seq, sendingTime: now)
    }

    private mutating func resetConnectionState() {
        testRequestOutstanding = nil
        resendRequestedThrough = nil
        queue.removeAll()
        sentResetOnLogon = false
    }

    private mutating func resetSequences(_ out: inout [FIXSessionAction]) {
        nextSenderSeqNum = 1
        nextTargetSeqNum = 1
        sent.removeAll()
        out.append(.persistSequenceNumbers(nextSender: 1, nextTarget: 1))
    }

    private mutating func sendAdmin(_ body: FIXBody, now: Int64, _ out: inout [FIXSessionAction]) {
        send(body, now: now, into: &out)
    }

    private mutating func disconnect(_ reason: FIXDisconnectReason, _ out: inout [FIXSessionAction]) {
        out.append(contentsOf: [.cancelTimer(.heartbeat), .cancelTimer(.inboundSilence), .cancelTimer(.logon), .cancelTimer(.logout)])
        out.append(.disconnect(reason))
        status = .disconnected
        resetConnectionState()
    }

    /// Logout with a reason, then disconnect: the spec's answer to a peer we can
    /// no longer trust to be in sync.
    private mutating func logoutAndDisconnect(_ reason: FIXDisconnectReason, now: Int64, _ out: inout [FIXSessionAction]) {
        sendAdmin(Logout(text: reason.description).body(), now: now, &out)
        disconnect(reason, &out)
    }

    private mutating func consumed(_ seq: Int, _ out: inout [FIXSessionAction]) {
        if seq == nextTargetSeqNum { nextTargetSeqNum += 1 }
        out.append(.persistSequenceNumbers(nextSender: nextSenderSeqNum, nextTarget: nextTargetSeqNum))
    }

    private mutating func sendReject(_ reject: Reject, now: Int64, _ out: inout [FIXSessionAction]) {
        sendAdmin(reject.body(), now: now, &out)
    }

    private mutating func reject(_ m: FIXMessage, seq: Int, _ error: FIXFieldError, now: Int64, _ out: inout [FIXSessionAction]) {
        sendReject(Reject(refSeqNum: seq, refTagID: error.tag, refMsgType: m.msgType.rawValue, reason: error.rejectReason, text: error.description), now: now, &out)
        consumed(seq, &out)
    }

    private mutating func invalidFrame(_ info: FIXRejectInfo, frame: [UInt8], now: Int64, _ out: inout [FIXSessionAction]) {
        guard let seq = info.refSeqNum, seq > 0 else {
            logoutAndDisconnect(.msgSeqNumMissing, now: now, &out)
            return
        }
        if seq > nextTargetSeqNum {
            // Not queued (it would only be rejected later); the resend brings it again.
            requestResend(upTo: seq, now: now, &out)
            return
        }
        if seq < nextTargetSeqNum {
            if info.possDup { return }
            logoutAndDisconnect(.msgSeqNumTooLow(expected: nextTargetSeqNum, received: seq), now: now, &out)
            return
        }
        sendReject(Reject(refSeqNum: seq, refTagID: info.refTagID, refMsgType: info.refMsgType, reason: info.reason, text: info.text), now: now, &out)
        consumed(seq, &out)
        drainQueue(now: now, &out)
    }

    private mutating func requestResend(upTo seq: Int, now: Int64, _ out: inout [FIXSessionAction]) {
        if let through = resendRequestedThrough, through >= nextTargetSeqNum {
            resendRequestedThrough = max(through, seq)
            return
        }
        resendRequestedThrough = seq
        sendAdmin(ResendRequest(beginSeqNo: nextTargetSeqNum, endSeqNo: 0).body(), now: now, &out)
    }

    /// Header checks common to every message once the session is up: CompIDs,
    /// SendingTime, PossDup's OrigSendingTime. False when the message was
    /// answered (Reject / Logout) and must not be processed further.
    private mutating func verifyHeader(_ m: FIXMessage, seq: Int, now: Int64, _ out: inout [FIXSessionAction]) -> Bool {
        guard let sender = m.value(FIXTag.senderCompID), let target = m.value(FIXTag.targetCompID), m.has(FIXTag.sendingTime) else {
            let tag = !m.has(FIXTag.senderCompID) ? FIXTag.senderCompID : !m.has(FIXTag.targetCompID) ? FIXTag.targetCompID : FIXTag.sendingTime
            if seq == nextTargetSeqNum {
                reject(m, seq: seq, FIXFieldError(tag: tag, value: nil, problem: .missing), now: now, &out)
            }
            return false
        }
        // Compared as bytes: this runs on every inbound message.
        if !sender.elementsEqual(expectedSender) || !target.elementsEqual(expectedTarget) {
            sendReject(Reject(refSeqNum: seq, refTagID: m.senderCompID != configuration.targetCompID ? FIXTag.senderCompID : FIXTag.targetCompID,
                              refMsgType: m.msgType.rawValue, reason: .compIDProblem, text: "CompID problem"), now: now, &out)
            if seq == nextTargetSeqNum { nextTargetSeqNum += 1 }
            logoutAndDisconnect(.compIDProblem(sender: m.senderCompID, target: m.targetCompID), now: now, &out)
            return false
        }
        let sendingTime: Int64
        do {
            guard let t = try m.timestamp(FIXTag.sendingTime) else { return false }
            sendingTime = t
        } catch {
            if seq == nextTargetSeqNum { reject(m, seq: seq, error, now: now, &out) }
            return false
        }
        if abs(sendingTime - now) > configuration.sendingTimeTolerance {
            sendingTimeProblem(m, seq: seq, now: now, &out)
            return false
        }
        if m.possDup && m.msgType != .sequenceReset {
            let orig: Int64?
            do {
                orig = try m.timestamp(FIXTag.origSendingTime)
            } catch {
                if seq == nextTargetSeqNum { reject(m, seq: seq, error, now: now, &out) }
                return false
            }
            guard let orig else {
                if seq == nextTargetSeqNum {
                    reject(m, seq: seq, FIXFieldError(tag: FIXTag.origSendingTime, value: nil, problem: .missing), now: now, &out)
                }
                return false
            }
            if orig > sendingTime {
                sendingTimeProblem(m, seq: seq, now: now, &out)
                return false
            }
        }
        return true
    }

    private mutating func sendingTimeProblem(_ m: FIXMessage, seq: Int, now: Int64, _ out: inout [FIXSessionAction]) {
        sendReject(Reject(refSeqNum: seq, refTagID: FIXTag.sendingTime, refMsgType: m.msgType.rawValue,
                          reason: .sendingTimeAccuracyProblem, text: "SendingTime accuracy problem"), now: now, &out)
        if seq == nextTargetSeqNum { nextTargetSeqNum += 1 }
        logoutAndDisconnect(.sendingTimeProblem, now: now, &out)
    }

    private mutating func logon(_ m: FIXMessage, now: Int64, _ out: inout [FIXSessionAction]) {
        guard let seq = m.msgSeqNum, seq > 0 else {
            disconnect(.msgSeqNumMissing, &out)
            return
        }
        func refuse(_ text: String, _ out: inout [FIXSessionAction]) {
            // Logout is sent so a stock engine logs the reason; the peer is not
            // authenticated, so nothing else is told or changed.
            status = .active
            sendAdmin(Logout(text: text).body(), now: now, &out)
            disconnect(.logonRejected(text), &out)
        }
        guard m.senderCompID == configuration.targetCompID, m.targetCompID == configuration.senderCompID else {
            refuse("CompID problem", &out)
            return
        }
        guard let sendingTime = try? m.timestamp(FIXTag.sendingTime),
              abs(sendingTime - now) <= configuration.sendingTimeTolerance
        else {
            refuse("SendingTime accuracy problem", &out)
            return
        }
        let logon: Logon
        do {
            logon = try Logon(parsing: m)
        } catch {
            refuse(error.description, &out)
            return
        }
        switch configuration.role {
        case .acceptor:
            guard configuration.acceptedHeartBtInt.contains(logon.heartBtInt) else {
                refuse("HeartBtInt \(logon.heartBtInt) not accepted", &out)
                return
            }
            guard verifier(configuration.targetCompID, logon.username, logon.password) else {
                refuse("invalid credentials", &out)
                return
            }
            if logon.resetSeqNumFlag {
                guard seq == 1 else {
                    refuse("ResetSeqNumFlag with MsgSeqNum \(seq)", &out)
                    return
                }
                resetSequences(&out)
            }
            heartBtInt = logon.heartBtInt
        case .initiator:
            if sentResetOnLogon && !logon.resetSeqNumFlag {
                refuse("Logon reply without ResetSeqNumFlag", &out)
                return
            }
            if logon.resetSeqNumFlag && !sentResetOnLogon {
                // The acceptor reset: follow it.
                nextTargetSeqNum = 1
            }
            heartBtInt = configuration.heartBtInt
        }
        if seq < nextTargetSeqNum {
            refuse(FIXDisconnectReason.msgSeqNumTooLow(expected: nextTargetSeqNum, received: seq).description, &out)
            return
        }
        status = .active
        out.append(.cancelTimer(.logon))
        if configuration.role == .acceptor {
            let reply = Logon(heartBtInt: heartBtInt, resetSeqNumFlag: logon.resetSeqNumFlag)
            sendAdmin(reply.body(), now: now, &out)
        }
        out.append(.loggedOn(logon))
        if heartBtInt > 0 {
            out.append(.setTimer(.heartbeat, at: lastSentAt + interval))
            out.append(.setTimer(.inboundSilence, at: now + silenceLimit))
        }
        if seq > nextTargetSeqNum {
            queue[seq] = .consumed
            requestResend(upTo: seq, now: now, &out)
        } else {
            consumed(seq, &out)
        }
    }

    private mutating func process(_ m: FIXMessage, now: Int64, fromQueue: Bool, _ out: inout [FIXSessionAction]) {
        guard let seq = m.msgSeqNum, seq > 0 else {
            logoutAndDisconnect(.msgSeqNumMissing, now: now, &out)
            return
        }
        if m.msgType == .logon {
            logoutAndDisconnect(.protocolError("Logon received while logged on"), now: now, &out)
            return
        }
        // SequenceReset in reset mode ignores MsgSeqNum altogether.
        if m.msgType == .sequenceReset, !((try? m.bool(FIXTag.gapFillFlag)) ?? nil ?? false) {
            guard verifyHeader(m, seq: seq, now: now, &out) else { return }
            sequenceReset(m, seq: seq, now: now, &out)
            return
        }
        if seq < nextTargetSeqNum {
            if m.possDup { return }  // a duplicate we already processed
            logoutAndDisconnect(.msgSeqNumTooLow(expected: nextTargetSeqNum, received: seq), now: now, &out)
            return
        }
        guard verifyHeader(m, seq: seq, now: now, &out) else { return }
        if seq > nextTargetSeqNum {
            // A ResendRequest is answered even while we have a gap of our own,
            // or two sides that both lost messages would wait on each other.
            if m.msgType == .resendRequest {
                if let rr = try? ResendRequest(parsing: m) { resend(rr, now: now, &out) }
                if queue.count < configuration.maximumQueued { queue[seq] = .consumed }
            } else if queue.count < configuration.maximumQueued && !fromQueue {
                queue[seq] = .frame(m.bytes)
            }
            requestResend(upTo: seq, now: now, &out)
            return
        }
        switch m.msgType {
        case .heartbeat:
            consumed(seq, &out)
        case .testRequest:
            do {
                let tr = try TestRequest(parsing: m)
                sendAdmin(Heartbeat(testReqID: tr.testReqID).body(), now: now, &out)
                consumed(seq, &out)
            } catch {
                reject(m, seq: seq, error, now: now, &out)
            }
        case .resendRequest:
            do {
                let rr = try ResendRequest(parsing: m)
                resend(rr, now: now, &out)
                consumed(seq, &out)
            } catch {
                reject(m, seq: seq, error, now: now, &out)
            }
        case .reject:
            consumed(seq, &out)
        case .sequenceReset:
            sequenceReset(m, seq: seq, now: now, &out)
        case .logout:
            consumed(seq, &out)
            if status == .loggingOut {
                disconnect(.logoutCompleted, &out)
            } else {
                let text = m.string(FIXTag.text)
                sendAdmin(Logout().body(), now: now, &out)
                disconnect(.peerLoggedOut(text), &out)
            }
        default:
            if !m.msgType.isDefinedInFIX44 {
                sendReject(Reject(refSeqNum: seq, refTagID: FIXTag.msgType, refMsgType: m.msgType.rawValue, reason: .invalidMsgType,
                                  text: "invalid MsgType \(m.msgType.rawValue)"), now: now, &out)
                consumed(seq, &out)
            } else if let supported = configuration.applicationMessageTypes, !supported.contains(m.msgType) {
                let bmr = BusinessMessageReject(refSeqNum: seq, refMsgType: m.msgType.rawValue,
                                                businessRejectReason: BusinessMessageReject.unsupportedMessageType,
                                                text: "unsupported message type \(m.msgType.rawValue)")
                consumed(seq, &out)
                send(bmr.body(), now: now, into: &out)
            } else {
                consumed(seq, &out)
                out.append(.deliver(m))
            }
        }
    }

    private mutating func sequenceReset(_ m: FIXMessage, seq: Int, now: Int64, _ out: inout [FIXSessionAction]) {
        let reset: SequenceReset
        do {
            reset = try SequenceReset(parsing: m)
        } catch {
            reject(m, seq: seq, error, now: now, &out)
            return
        }
        if reset.newSeqNo < nextTargetSeqNum || (reset.gapFill && reset.newSeqNo == nextTargetSeqNum) {
            // Moving backwards would replay what we processed: refuse, change nothing.
            sendReject(Reject(refSeqNum: seq, refTagID: FIXTag.newSeqNo, refMsgType: m.msgType.rawValue, reason: .valueIsIncorrect,
                              text: "NewSeqNo \(reset.newSeqNo) not above expected \(nextTargetSeqNum)"), now: now, &out)
            if reset.gapFill { consumed(seq, &out) }
            return
        }
        nextTargetSeqNum = reset.newSeqNo
        queue = queue.filter { $0.key >= nextTargetSeqNum }
        out.append(.persistSequenceNumbers(nextSender: nextSenderSeqNum, nextTarget: nextTargetSeqNum))
    }

    private mutating func drainQueue(now: Int64, _ out: inout [FIXSessionAction]) {
        while status == .active || status == .loggingOut, let entry = queue.removeValue(forKey: nextTargetSeqNum) {
            switch entry {
            case .consumed:
                consumed(nextTargetSeqNum, &out)
            case .frame(let bytes):
                guard let m = try? decoder.decode(bytes) else {
                    nextTargetSeqNum += 1
                    continue
                }
                process(m, now: now, fromQueue: true, &out)
            }
        }
        if let through = resendRequestedThrough, nextTargetSeqNum > through {
            // Gap closed: anything still held is below the expected number.
            resendRequestedThrough = nil
            queue.removeAll()
        }
    }

    /// Answers a ResendRequest: application messages again with PossDupFlag=Y
    /// and OrigSendingTime, runs of anything else (administrative, or no longer
    /// stored) as one SequenceReset-GapFill each.
    private mutating func resend(_ request: ResendRequest, now: Int64, _ out: inout [FIXSessionAction]) {
        let last = nextSenderSeqNum - 1
        let end = request.endSeqNo == 0 ? last : min(request.endSeqNo, last)
        guard request.beginSeqNo <= end else { return }
        var gapStart: Int?
        func flushGap(before next: Int, _ out: inout [FIXSessionAction]) {
            guard let start = gapStart else { return }
            var h = header(seq: start, now: now)
            h.possDup = true
            h.origSendingTime = now
            out.append(.send(FIXEncoder.encode(SequenceReset(gapFill: true, newSeqNo: next).body(), header: h)))
            gapStart = nil
        }
        for seq in request.beginSeqNo...end {
            if let frame = sent[seq], let original = try? decoder.decode(frame) {
                flushGap(before: seq, &out)
                var h = header(seq: seq, now: now)
                h.possDup = true
                h.origSendingTime = (try? original.timestamp(FIXTag.sendingTime)) ?? nil ?? now
                let body = FIXBody(msgType: original.msgType, encodedFields: original.bytes[original.bodyByteRange])
                out.append(.send(FIXEncoder.encode(body, header: h)))
            } else if gapStart == nil {
                gapStart = seq
            }
        }
        flushGap(before: end + 1, &out)
        lastSentAt = now
    }
}
