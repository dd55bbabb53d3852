// FIX 4.4 tag=value codec and session state machine: pure, no I/O, no clocks,
// no Foundation. Time arrives with every event as UTC epoch nanoseconds.

/// The field separator of tag=value FIX.
@usableFromInline let soh: UInt8 = 0x01

/// Tag numbers the codec and session use. Kept as plain `Int` constants rather
/// than an enum so that tags we do not know (custom or future ones) flow through
/// the same code paths.
public enum FIXTag {
    public static let account = 1
    public static let avgPx = 6
    public static let beginSeqNo = 7
    public static let beginString = 8
    public static let bodyLength = 9
    public static let checkSum = 10
    public static let clOrdID = 11
    public static let cumQty = 14
    public static let endSeqNo = 16
    public static let execID = 17
    public static let execInst = 18
    public static let lastPx = 31
    public static let lastQty = 32
    public static let msgSeqNum = 34
    public static let msgType = 35
    public static let newSeqNo = 36
    public static let orderID = 37
    public static let orderQty = 38
    public static let ordStatus = 39
    public static let ordType = 40
    public static let origClOrdID = 41
    public static let possDupFlag = 43
    public static let price = 44
    public static let refSeqNum = 45
    public static let senderCompID = 49
    public static let senderSubID = 50
    public static let sendingTime = 52
    public static let side = 54
    public static let symbol = 55
    public static let targetCompID = 56
    public static let targetSubID = 57
    public static let text = 58
    public static let timeInForce = 59
    public static let transactTime = 60
    public static let signatureLength = 93
    public static let signature = 89
    public static let possResend = 97
    public static let encryptMethod = 98
    public static let cxlRejReason = 102
    public static let ordRejReason = 103
    public static let heartBtInt = 108
    public static let testReqID = 112
    public static let onBehalfOfCompID = 115
    public static let origSendingTime = 122
    public static let gapFillFlag = 123
    public static let deliverToCompID = 128
    public static let resetSeqNumFlag = 141
    public static let execType = 150
    public static let leavesQty = 151
    public static let refTagID = 371
    public static let refMsgType = 372
    public static let sessionRejectReason = 373
    public static let businessRejectReason = 380
    public static let cxlRejResponseTo = 434
    public static let noPartyIDs = 453
    public static let partyIDSource = 447
    public static let partyID = 448
    public static let partyRole = 452
    public static let username = 553
    public static let password = 554
    public static let nextExpectedMsgSeqNum = 789

    /// Clearing confirmation (Clearledger custom tags), carried on an
    /// ExecutionReport once the block holding the trade is final; see
    /// `ClearingConfirmation`. The registered user-defined range 5000–9999 is
    /// fully allocated; FIX approved 20000–39999 (Dec 2009) for bilateral
    /// user-defined tags that need no registration. A stock QuickFIX client
    /// rejects unknown tags unless its data dictionary lists them or it runs
    /// with `ValidateUserDefinedFields=N`.
    public static let clearingTradeID = 20001
    public static let clearingBlockHeight = 20002
    public static let clearingBlockHash = 20003
    public static let clearingStatus = 20004

    /// Standard-header tags other than 8, 9, 35: a header tag after the first body
    /// tag is "out of required order" (SessionRejectReason 14).
    @inlinable
    static func isHeader(_ tag: Int) -> Bool {
        switch tag {
        case 34, 43, 49, 50, 52, 56, 57, 97, 115, 116, 122, 128, 129, 142, 143, 144, 145, 212, 213,
            347, 369, 627, 628, 629, 630, 90, 91, 1128, 1129:
            return true
        default:
            return false
        }
    }
}

/// Session-level reject reasons (tag 373), FIX 4.4 values.
public enum SessionRejectReason: Int, Sendable, Equatable {
    case invalidTagNumber = 0
    case requiredTagMissing = 1
    case tagNotDefinedForMessageType = 2
    case undefinedTag = 3
    case tagSpecifiedWithoutValue = 4
    case valueIsIncorrect = 5
    case incorrectDataFormat = 6
    case decryptionProblem = 7
    case signatureProblem = 8
    case compIDProblem = 9
    case sendingTimeAccuracyProblem = 10
    case invalidMsgType = 11
    case tagAppearsMoreThanOnce = 13
    case tagSpecifiedOutOfRequiredOrder = 14
    case repeatingGroupFieldsOutOfOrder = 15
    case incorrectNumInGroupCount = 16
    case nonDataValueIncludesDelimiter = 17
    case other = 99
}

/// MsgType (35). A wrapper rather than an enum: unknown types must survive
/// decoding so the session can answer them with Reject 11 or
/// BusinessMessageReject 3, which needs the original value.
public struct FIXMsgType: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let heartbeat = FIXMsgType("0")
    public static let testRequest = FIXMsgType("1")
    public static let resendRequest = FIXMsgType("2")
    public static let reject = FIXMsgType("3")
    public static let sequenceReset = FIXMsgType("4")
    public static let logout = FIXMsgType("5")
    public static let logon = FIXMsgType("A")
    public static let executionReport = FIXMsgType("8")
    public static let orderCancelReject = FIXMsgType("9")
    public static let newOrderSingle = FIXMsgType("D")
    public static let orderCancelRequest = FIXMsgType("F")
    public static let orderCancelReplaceRequest = FIXMsgType("G")
    public static let businessMessageReject = FIXMsgType("j")

    /// Administrative (session-level) messages are never resent: a resend replaces
    /// them with SequenceReset-GapFill.
    public var isAdministrative: Bool {
        switch rawValue {
        case "0", "1", "2", "3", "4", "5", "A": return true
        default: return false
        }
    }

    /// Whether FIX 4.4 defines this MsgType at all: an undefined one is answered
    /// with Reject 11, a defined one we do not support with BusinessMessageReject 3.
    public var isDefinedInFIX44: Bool {
        let bytes = Array(rawValue.utf8)
        switch bytes.count {
        case 1:
            let c = bytes[0]
            return (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"))
        case 2:
            // AA..AZ, BA..BH exist in 4.4 (AA..BH); be generous within A?/B?.
            return (bytes[0] == UInt8(ascii: "A") || bytes[0] == UInt8(ascii: "B"))
                && bytes[1] >= UInt8(ascii: "A") && bytes[1] <= UInt8(ascii: "Z")
        default:
            return false
        }
    }
}

/// One decoded field: the tag and where its value lies in the frame. Values are
/// converted on demand, so decoding allocates no String per field.
public struct FIXField: Sendable, Equatable {
    public let tag: Int
    @usableFromInline let start: Int32
    @usableFromInline let end: Int32

    @inlinable init(tag: Int, start: Int, end: Int) {
        self.tag = tag
        self.start = Int32(truncatingIfNeeded: start)
        self.end = Int32(truncatingIfNeeded: end)
    }

    public var valueRange: Range<Int> { Int(start)..<Int(end) }
}

/// A decoded, structurally valid FIX message: the frame's bytes and an index of
/// its fields in wire order (8, 9 and 10 included). Duplicates inside repeating
/// groups are kept in order. Reading a value slices the frame.
public struct FIXMessage: Sendable {
    public internal(set) var bytes: [UInt8]
    public internal(set) var fields: [FIXField]
    public internal(set) var msgType: FIXMsgType
    /// Index into `fields` of the first field after the standard header, and the
    /// byte offset where it starts: a resend re-encodes the header and copies the
    /// body bytes unchanged from here to the CheckSum field.
    public internal(set) var bodyFieldIndex: Int
    public internal(set) var bodyByteRange: Range<Int>

    public init() {
        bytes = []
        fields = []
        msgType = FIXMsgType("")
        bodyFieldIndex = 0
        bodyByteRange = 0..<0
    }

    @inlinable
    public func fieldIndex(_ tag: Int) -> Int? {
        var i = 0
        let n = fields.count
        while i < n {
            if fields[i].tag == tag { return i }
            i += 1
        }
        return nil
    }

    public func has(_ tag: Int) -> Bool { fieldIndex(tag) != nil }

    /// The raw value bytes of the first occurrence of `tag`.
    public func value(_ tag: Int) -> ArraySlice<UInt8>? {
        guard let i = fieldIndex(tag) else { return nil }
        return bytes[fields[i].valueRange]
    }

    public func string(_ tag: Int) -> String? {
        guard let v = value(tag) else { return nil }
        return String(decoding: v, as: UTF8.self)
    }

    /// Values of every occurrence of `tag`, in order (repeating groups).
    public func strings(_ tag: Int) -> [String] {
        fields.lazy.filter { $0.tag == tag }.map { String(decoding: self.bytes[$0.valueRange], as: UTF8.self) }
    }

    public func requiredString(_ tag: Int) throws(FIXFieldError) -> String {
        guard let s = string(tag) else { throw FIXFieldError(tag: tag, value: nil, problem: .missing) }
        return s
    }

    public func int(_ tag: Int) throws(FIXFieldError) -> Int? {
        guard let v = value(tag) else { return nil }
        guard let n = FIXParse.int(v) else {
            throw FIXFieldError(tag: tag, value: String(decoding: v, as: UTF8.self), problem: .badFormat)
        }
        return n
    }

    public func requiredInt(_ tag: Int) throws(FIXFieldError) -> Int {
        guard let n = try int(tag) else { throw FIXFieldError(tag: tag, value: nil, problem: .missing) }
        return n
    }

    /// Y/N boolean; absent is nil.
    public func bool(_ tag: Int) throws(FIXFieldError) -> Bool? {
        guard let v = value(tag) else { return nil }
        if v.count == 1 {
            if v.first == UInt8(ascii: "Y") { return true }
            if v.first == UInt8(ascii: "N") { return false }
        }
        throw FIXFieldError(tag: tag, value: String(decoding: v, as: UTF8.self), problem: .badFormat)
    }

    /// UTCTimestamp as epoch nanoseconds.
    public func timestamp(_ tag: Int) throws(FIXFieldError) -> Int64? {
        guard let v = value(tag) else { return nil }
        guard let t = FIXTime.parse(v) else {
            throw FIXFieldError(tag: tag, value: String(decoding: v, as: UTF8.self), problem: .badFormat)
        }
        return t
    }

    /// MsgSeqNum, when present and well-formed.
    public var msgSeqNum: Int? { (try? int(FIXTag.msgSeqNum)) ?? nil }
    public var senderCompID: String? { string(FIXTag.senderCompID) }
    public var targetCompID: String? { string(FIXTag.targetCompID) }
    public var possDup: Bool { ((try? bool(FIXTag.possDupFlag)) ?? nil) ?? false }
}

extension FIXMessage: CustomStringConvertible {
    /// The frame with SOH shown as `|`, for logs and test failures.
    public var description: String {
        String(decoding: bytes.map { $0 == soh ? UInt8(ascii: "|") : $0 }, as: UTF8.self)
    }
}

/// A field that is missing, malformed or out of range, named by tag and value so
/// the session can build Reject (RefTagID 371, SessionRejectReason 373) and logs
/// say exactly what was wrong.
public struct FIXFieldError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable {
        case missing
        case badFormat
        case badValue
    }
    public let tag: Int
    public let value: String?
    public let problem: Problem
    public var detail: String?

    public init(tag: Int, value: String?, problem: Problem, detail: String? = nil) {
        self.tag = tag
        self.value = value
        self.problem = problem
        self.detail = detail
    }

    public var rejectReason: SessionRejectReason {
        switch problem {
        case .missing: return .requiredTagMissing
        case .badFormat: return .incorrectDataFormat
        case .badValue: return .valueIsIncorrect
        }
    }

    public var description: String {
        switch problem {
        case .missing: return "required tag \(tag) missing"
        case .badFormat: return "tag \(tag): incorrect data format '\(value ?? "")'" + (detail.map { ": \($0)" } ?? "")
        case .badValue: return "tag \(tag): value incorrect '\(value ?? "")'" + (detail.map { ": \($0)" } ?? "")
        }
    }
}

/// Small numeric parsers on bytes, shared by decoder, messages and session.
@usableFromInline
enum FIXParse {
    /// Decimal integer with optional leading '-', at most 18 digits (no overflow).
    @inlinable
    static func int<C: Collection>(_ bytes: C) -> Int? where C.Element == UInt8 {
        var it = bytes.makeIterator()
        guard var c = it.next() else { return nil }
        var negative = false
        if c == UInt8(ascii: "-") {
            negative = true
            guard let d = it.next() else { return nil }
            c = d
        }
        var value = 0
        var digits = 0
        while true {
            let d = c &- UInt8(ascii: "0")
            guard d < 10, digits < 18 else { return nil }
            value = value &* 10 &+ Int(d)
            digits += 1
            guard let next = it.next() else { break }
            c = next
        }
        return negative ? -value : value
    }
}
