/// The body of an outgoing message (everything after the standard header), as
/// encoded bytes. Typed messages write themselves into one; the session adds
/// the header, BodyLength and CheckSum. Keeping the body pre-encoded means a
/// resend copies it byte for byte.
public struct FIXBody: Sendable, Equatable {
    public var msgType: FIXMsgType
    public private(set) var bytes: [UInt8]

    public init(_ msgType: FIXMsgType, reservingCapacity: Int = 128) {
        self.msgType = msgType
        bytes = []
        bytes.reserveCapacity(reservingCapacity)
    }

    /// A body taken from a decoded message (for resends and for relaying).
    public init(msgType: FIXMsgType, encodedFields: ArraySlice<UInt8>) {
        self.msgType = msgType
        bytes = Array(encodedFields)
    }

    @inline(__always)
    private mutating func appendTag(_ tag: Int) {
        FIXEncoder.appendDecimal(tag, to: &bytes)
        bytes.append(UInt8(ascii: "="))
    }

    /// SOH inside a value would split the field and let a peer-supplied string
    /// (an echoed ClOrdID, a Text) forge fields; it becomes a space. An empty
    /// value is not legal FIX, so the field is left out.
    public mutating func append(_ tag: Int, _ value: String) {
        if value.isEmpty { return }
        appendTag(tag)
        for c in value.utf8 { bytes.append(c == soh ? UInt8(ascii: " ") : c) }
        bytes.append(soh)
    }

    public mutating func append(_ tag: Int, _ value: String?) {
        if let value { append(tag, value) }
    }

    public mutating func append(_ tag: Int, int value: Int) {
        appendTag(tag)
        FIXEncoder.appendDecimal(value, to: &bytes)
        bytes.append(soh)
    }

    public mutating func append(_ tag: Int, int value: Int?) {
        if let value { append(tag, int: value) }
    }

    public mutating func append(_ tag: Int, bool value: Bool) {
        appendTag(tag)
        bytes.append(value ? UInt8(ascii: "Y") : UInt8(ascii: "N"))
        bytes.append(soh)
    }

    public mutating func append(_ tag: Int, decimal value: FIXDecimal) {
        appendTag(tag)
        value.append(to: &bytes)
        bytes.append(soh)
    }

    public mutating func append(_ tag: Int, timestamp nanos: Int64) {
        appendTag(tag)
        FIXTime.append(nanos, to: &bytes)
        bytes.append(soh)
    }
}

/// The standard header the session owns.
public struct FIXHeader: Sendable, Equatable {
    public var senderCompID: String
    public var targetCompID: String
    public var msgSeqNum: Int
    public var sendingTime: Int64
    public var possDup: Bool
    public var origSendingTime: Int64?

    public init(senderCompID: String, targetCompID: String, msgSeqNum: Int, sendingTime: Int64, possDup: Bool = false, origSendingTime: Int64? = nil) {
        self.senderCompID = senderCompID
        self.targetCompID = targetCompID
        self.msgSeqNum = msgSeqNum
        self.sendingTime = sendingTime
        self.possDup = possDup
        self.origSendingTime = origSendingTime
    }
}

/// Builds complete frames: 8, 9, 35, 49, 56, 34, 52, [43, 122], body, 10.
public enum FIXEncoder {
    static let beginString: [UInt8] = Array("8=FIX.4.4\u{01}9=".utf8)

    public static func encode(_ body: FIXBody, header: FIXHeader) -> [UInt8] {
        var rest: [UInt8] = []
        rest.reserveCapacity(body.bytes.count + 96)
        func tag(_ t: Int) {
            appendDecimal(t, to: &rest)
            rest.append(UInt8(ascii: "="))
        }
        tag(FIXTag.msgType)
        rest.append(contentsOf: body.msgType.rawValue.utf8)
        rest.append(soh)
        tag(FIXTag.senderCompID)
        rest.append(contentsOf: header.senderCompID.utf8)
        rest.append(soh)
        tag(FIXTag.targetCompID)
        rest.append(contentsOf: header.targetCompID.utf8)
        rest.append(soh)
        tag(FIXTag.msgSeqNum)
        appendDecimal(header.msgSeqNum, to: &rest)
        rest.append(soh)
        tag(FIXTag.sendingTime)
        FIXTime.append(header.sendingTime, to: &rest)
        rest.append(soh)
        if header.possDup {
            tag(FIXTag.possDupFlag)
            rest.append(UInt8(ascii: "Y"))
            rest.append(soh)
        }
        if let orig = header.origSendingTime {
            tag(FIXTag.origSendingTime)
            FIXTime.append(orig, to: &rest)
            rest.append(soh)
        }
        rest.append(contentsOf: body.bytes)

        var out: [UInt8] = []
        out.reserveCapacity(rest.count + 24)
        out.append(contentsOf: beginString)
        appendDecimal(rest.count, to: &out)
        out.append(soh)
        out.append(contentsOf: rest)
        appendCheckSum(to: &out)
        return out
    }

    /// Appends `10=ddd<SOH>` over everything already in `out`.
    public static func appendCheckSum(to out: inout [UInt8]) {
        var sum = 0
        for b in out { sum &+= Int(b) }
        sum &= 0xFF
        out.append(contentsOf: [UInt8(ascii: "1"), UInt8(ascii: "0"), UInt8(ascii: "=")])
        out.append(UInt8(ascii: "0") + UInt8(sum / 100))
        out.append(UInt8(ascii: "0") + UInt8(sum / 10 % 10))
        out.append(UInt8(ascii: "0") + UInt8(sum % 10))
        out.append(soh)
    }

    @inline(__always)
    static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        var v = value.magnitude
        if value < 0 { out.append(UInt8(ascii: "-")) }
        if v < 10 {
            out.append(UInt8(ascii: "0") + UInt8(v))
            return
        }
        var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                  UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &tmp) { raw in
            while v > 0 {
                raw[n] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                n += 1
            }
            while n > 0 {
                n -= 1
                out.append(raw[n])
            }
        }
    }
}
