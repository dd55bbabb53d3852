/// A typed view of one message type: parsed from a decoded `FIXMessage`
/// (errors name the tag and value, ready for a Reject) and written back as a
/// `FIXBody` the session frames.
public protocol FIXMessageView: Sendable {
    static var msgType: FIXMsgType { get }
    init(parsing message: FIXMessage) throws(FIXFieldError)
    func body() -> FIXBody
}

extension FIXMessage {
    /// A single-character enumeration field mapped through `parse`.
    func enumeration<T>(_ tag: Int, _ parse: (String) -> T?) throws(FIXFieldError) -> T? {
        guard let s = string(tag) else { return nil }
        guard let v = parse(s) else { throw FIXFieldError(tag: tag, value: s, problem: .badValue) }
        return v
    }

    func requiredEnumeration<T>(_ tag: Int, _ parse: (String) -> T?) throws(FIXFieldError) -> T {
        guard let v = try enumeration(tag, parse) else { throw FIXFieldError(tag: tag, value: nil, problem: .missing) }
        return v
    }

    /// A positive integer (sequence numbers, counts).
    func requiredPositiveInt(_ tag: Int, allowZero: Bool = false) throws(FIXFieldError) -> Int {
        let v = try requiredInt(tag)
        guard v > 0 || (allowZero && v == 0) else { throw FIXFieldError(tag: tag, value: String(v), problem: .badValue) }
        return v
    }
}

/// Logon (A). EncryptMethod must be 0: Clearledger runs FIX in the clear or
/// under TLS, never FIX-level encryption.
public struct Logon: FIXMessageView, Equatable {
    public static let msgType = FIXMsgType.logon
    public var heartBtInt: Int
    public var resetSeqNumFlag: Bool
    public var username: String?
    public var password: String?

    public init(heartBtInt: Int, resetSeqNumFlag: Bool = false, username: String? = nil, password: String? = nil) {
        self.heartBtInt = heartBtInt
        self.resetSeqNumFlag = resetSeqNumFlag
        self.username = username
        self.password = password
    }

    public init(parsing m: FIXMessage) throws(FIXFieldError) {
        let encrypt = try m.requiredInt(FIXTag.encryptMethod)
        guard encrypt == 0 else { throw FIXFieldError(tag: FIXTag.encryptMethod, value: String(encrypt), problem: .badValue) }
        heartBtInt = try m.requiredPositiveInt(FIXTag.heartBtInt, allowZero: true)
        resetSeqNumFlag = try m.bool(FIXTag.resetSeqNumFlag) ?? false
        username = m.string(FIXTag.username)
        password = m.string(FIXTag.password)
    }

    public func body() -> FIXBody {
        var b = FIXBody(Self.msgType)
        b.append(FIXTag.encryptMethod, int: 0)
        b.append(FIXTag.heartBtInt, int: heartBtInt)
        if resetSeqNumFlag { b.append(FIXTag.resetSeqNumFlag, bool: true) }
        b.append(FIXTag.username, username)
        b.append(FIXTag.password, password)
        return b
    }
}

/// Heartbeat (0); TestReqID is set when answering a TestRequest.
public struct Heartbeat: FIXMessageView, Equatable {
    public static let msgType = FIXMsgType.heartbeat
    public var testReqID: String?
    public init(testReqID: String? = nil) { self.testReqID = testReqID }
    public init(parsing m: FIXMessage) throws(FIXFieldError) { testReqID = m.string(FIXTag.testReqID) }
    public func body() -> FIXBody {
        var b = FIXBody(Self.msgType, reservingCapacity: 32)
        b.append(FIXTag.testReqID, testReqID)
        return b
    }
}

public struct TestRequest: FIXMessageView, Equatable {
    public static let msgType = FIXMsgType.testRequest
    public var testReqID: String
    public init(testReqID: String) { self.testReqID = testReqID }
    public init(parsing m: FIXMessage) throws(FIXFieldError) { testReqID = try m.requiredString(FIXTag.testReqID) }
    public func body() -> FIXBody {
        var b = FIXBody(Self.msgType, reservingCapacity: 32)
        b.append(FIXTag.testReqID, testReqID)
        return b
    }
}

/// ResendRequest (2). EndSeqNo 0 means "everything after BeginSeqNo" (FIX 4.2+).
public struct ResendRequest: FIXMessageView, Equatable {
    public static let msgType = FIXMsgType.resendRequest
    public var beginSeqNo: Int
    public var endSeqNo: Int
    public init(beginSeqNo: Int, endSeqNo: Int) {
        self.beginSeqNo = beginSeqNo
        self.endSeqNo = endSeqNo
    }
    public init(parsing m: FIXMessage) throws(FIXFieldError) {
        beginSeqNo = try m.requiredPositiveInt(FIXTag.beginSeqNo)
        endSeqNo = try m.requiredPositiveInt(FIXTag.endSeqNo, allowZero: true)
        if endSeqNo != 0 && endSeqNo < beginSeqNo {
            throw FIXFieldError(tag: FIXTag.endSeqNo, value: String(endSeqNo), problem: .badValue, detail: "EndSeqNo before BeginSeqNo")
        }
    }
    public func body() -> FIXBody {
        var b = FIXBody(Self.msgType, reservingCapacity: 32)
        b.append(FIXTag.beginSeqNo, int: beginSeqNo)
        b.append(FIXTag.endSeqNo, int: endSeqNo)
        return b
    }
}

/// Reject (3): a session-level problem with one inbound message.
public struct Reject: FIXMessageView, Equatable {
    public static let msgType = FIXMsgType.reject
    public var refSeqNum: Int
    public var refTagID: Int?
    public var refMsgType: String?
    public var reason: SessionRejectReason?
    public var text: String?

    public init(refSeqNum: Int, refTagID: Int? = nil, refMsgType: String? = nil, reason: SessionRejectReason? = nil, text: String? = nil) {
        self.refSeqNum = refSeqNum
        self.refTagID = refTagID
        self.refMsgType = refMsgType
        self.reason = reason
        self.text = text
    }

    public init(parsing m: FIXMessage) throws(FIXFieldError) {
        refSeqNum = try m.requiredPositiveInt(FIXTag.refSeqNum, allowZero: true)
        refTagID = try m.int(FIXTag.refTagID)
        refMsgType = m.string(FIXTag.refMsgType)
        reason = try m.enumeration(FIXTag.sessionRejectReason) { Int($0).flatMap(SessionRejectReason.init(rawValue:)) }
        text = m.string(FIXTag.text)
    }

    public func body() -> FIXBody {
        var b = FIXBody(Self.msgType, reservingCapacity: 64)
        b.append(FIXTag.refSeqNum, int: refSeqNum)
        b.append(FIXTag.refTagID, int: refTagID)
        b.append(FIXTag.refMsgType, refMsgType)
        b.append(FIXTag.sessionRejectReason, int: reason?.rawValue)
        b.append(FIXTag.text, text)
        return b
    }
}

/// SequenceReset (4): GapFill (123=Y) skips administrative messages during a
/// resend; Reset mode (123=N or absent) forces the expected number.
public struct SequenceReset: FIXMessageView, Equatable {
    public static let msgType = FIXMsgType.sequenceReset
    public var gapFill: Bool
    public var newSeqNo: Int
    public init(gapFill: Bool, newSeqNo: Int) {
        self.gapFill = gapFill
        self.newSeqNo = newSeqNo
    }
    public init(parsing m: FIXMessage) throws(FIXFieldError) {
        gapFill = try m.bool(FIXTag.gapFillFlag) ?? false
        newSeqNo = try m.requiredPositiveInt(FIXTag.newSeqNo)
    }
    public func body() -> FIXBody {
        var b = FIXBody(Self.msgType, reservingCapacity: 32)
        if gapFill { b.append(FIXTag.gapFillFlag, bool: true) }
        b.append(FIXTag.newSeqNo, int: newSeqNo)
        return b
    }
}

public struct Logout: FIXMessageView, Equatable {
    public static let msgType = FIXMsgType.logout
    public var text: String?
    public init(text: String? = nil) { self.text = text }
    public init(parsing m: FIXMessage) throws(FIXFieldError) { text = m.string(FIXTag.text) }
    public func body() -> FIXBody {
        var b = FIXBody(Self.msgType, reservingCapacity: 64)
        b.append(FIXTag.text, text)
        return b
    }
}
