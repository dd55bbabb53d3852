/// A repeating group the decoder lets repeat: after `countTag` (NumInGroup),
/// member tags may appear once per instance, each instance opened by
/// `delimiterTag`. Outside a declared group every tag must be unique.
public struct FIXGroupSpec: Sendable, Equatable {
    public let countTag: Int
    public let delimiterTag: Int
    public let memberTags: [Int]

    public init(countTag: Int, delimiterTag: Int, memberTags: [Int]) {
        self.countTag = countTag
        self.delimiterTag = delimiterTag
        self.memberTags = memberTags
    }

    /// Parties (NoPartyIDs 453): not used by Clearledger, but stock engines may
    /// send it, and it must not read as duplicate tags.
    public static let parties = FIXGroupSpec(
        countTag: FIXTag.noPartyIDs, delimiterTag: FIXTag.partyID,
        memberTags: [FIXTag.partyID, FIXTag.partyIDSource, FIXTag.partyRole])
}

/// Why a frame is garbled. Per the FIX spec a garbled message is ignored: no
/// Reject, and the expected inbound MsgSeqNum is not incremented.
public enum FIXGarbledReason: Sendable, Equatable {
    case beginStringNotFirst
    case bodyLengthNotSecond
    case bodyLengthIncorrect(announced: Int, actual: Int)
    case msgTypeNotThird
    case checkSumNotLast
    case checkSumIncorrect(received: Int, computed: Int)
    case tooLarge
}

/// What the receiver of an undecodable frame must do, per FIX 4.4.
public enum FIXDecodeError: Error, Sendable, Equatable {
    /// Ignore the frame; do not consume the sequence number.
    case garbled(FIXGarbledReason)
    /// A BeginString other than FIX.4.4: Logout and disconnect.
    case unsupportedBeginString(String)
    /// The frame is intact but breaks a field rule: answer with Reject (3) built
    /// from this, and consume the sequence number.
    case invalid(FIXRejectInfo)

    public enum Disposition: Sendable { case ignore, reject, disconnect }

    public var disposition: Disposition {
        switch self {
        case .garbled: return .ignore
        case .unsupportedBeginString: return .disconnect
        case .invalid: return .reject
        }
    }
}

/// Everything a session-level Reject (3) needs, taken from the offending frame.
public struct FIXRejectInfo: Sendable, Equatable {
    public var refSeqNum: Int?
    public var refMsgType: String?
    public var refTagID: Int?
    public var reason: SessionRejectReason
    public var text: String
    /// PossDupFlag of the offending message, so a too-low duplicate is ignored
    /// rather than rejected.
    public var possDup: Bool

    public init(refSeqNum: Int?, refMsgType: String?, refTagID: Int?, reason: SessionRejectReason, text: String, possDup: Bool = false) {
        self.refSeqNum = refSeqNum
        self.refMsgType = refMsgType
        self.refTagID = refTagID
        self.reason = reason
        self.text = text
        self.possDup = possDup
    }
}

/// Decodes one complete frame (as cut by `FIXFramer`, or standalone).
///
/// The hot path touches each byte a small constant number of times, keeps
/// values as byte ranges, and with `decode(_:into:)` reuses the message's
/// storage, so a steady stream decodes without allocating.
public struct FIXDecoder: Sendable {
    public var limits: FIXLimits
    public var groups: [FIXGroupSpec]

    public init(limits: FIXLimits = FIXLimits(), groups: [FIXGroupSpec] = [.parties]) {
        self.limits = limits
        self.groups = groups
    }

    public func decode(_ frame: [UInt8]) throws(FIXDecodeError) -> FIXMessage {
        var message = FIXMessage()
        try decode(frame, into: &message)
        return message
    }

    public func decode(_ frame: [UInt8], into message: inout FIXMessage) throws(FIXDecodeError) {
        message.bytes = frame
        try index(&message)
    }

    public func decode(_ frame: UnsafeRawBufferPointer, into message: inout FIXMessage) throws(FIXDecodeError) {
        message.bytes.removeAll(keepingCapacity: true)
        message.bytes.append(contentsOf: frame)
        try index(&message)
    }

    private func index(_ message: inout FIXMessage) throws(FIXDecodeError) {
        let bytes = message.bytes
        var fields = message.fields
        message.fields = []
        fields.removeAll(keepingCapacity: true)
        defer { message.fields = fields }
        let result: Result<(FIXMsgType, Int, Range<Int>), FIXDecodeError> = bytes.withUnsafeBufferPointer { b in
            do throws(FIXDecodeError) {
                return .success(try scan(b, into: &fields))
            } catch {
                return .failure(error)
            }
        }
        let (type, bodyIndex, bodyRange) = try result.get()
        message.msgType = type
        message.bodyFieldIndex = bodyIndex
        message.bodyByteRange = bodyRange
    }

    /// Parses one field starting at `i`; returns (tag or -1 when not a valid tag
    /// number, value start, value end = index of its SOH).
    @inline(__always)
    private func field(_ b: UnsafeBufferPointer<UInt8>, at start: Int, end: Int) -> (tag: Int, value: Int, soh: Int) {
        var i = start
        var tag = 0
        var valid = true
        var digits = 0
        while i < end {
            let c = b[i]
            if c == UInt8(ascii: "=") { break }
            if c == soh { return (-1, i, i) }
            let d = c &- UInt8(ascii: "0")
            if d >= 10 || (digits == 0 && d == 0) || digits >= 9 { valid = false } else { tag = tag * 10 + Int(d) }
            digits += 1
            i += 1
        }
        if i >= end { return (-1, end, end) }
        let valueStart = i + 1
        var j = valueStart
        while j < end, b[j] != soh { j += 1 }
        return (valid && digits > 0 ? tag : -1, valueStart, j)
    }

    private func scan(_ b: UnsafeBufferPointer<UInt8>, into fields: inout [FIXField]) throws(FIXDecodeError) -> (FIXMsgType, Int, Range<Int>) {
        // The seen-tags bitmap lives on the stack: no allocation, no copies.
        let result: Result<(FIXMsgType, Int, Range<Int>), FIXDecodeError> =
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: TagSet.words) { words in
                words.initialize(repeating: 0)
                var seen = TagSet(words)
                do throws(FIXDecodeError) {
                    return .success(try scan(b, into: &fields, seen: &seen))
                } catch {
                    return .failure(error)
                }
            }
        return try result.get()
    }

    private func scan(_ b: UnsafeBufferPointer<UInt8>, into fields: inout [FIXField], seen: inout TagSet) throws(FIXDecodeError) -> (FIXMsgType, Int, Range<Int>) {
        let n = b.count
        if n > limits.maximumMessageSize { throw .garbled(.tooLarge) }
        // 8=FIX.4.4
        let f8 = field(b, at: 0, end: n)
        guard f8.tag == FIXTag.beginString, f8.soh < n else { throw .garbled(.beginStringNotFirst) }
        let begin = UnsafeBufferPointer(rebasing: b[f8.value..<f8.soh])
        if !(begin.count == 7 && begin[0] == UInt8(ascii: "F") && begin[1] == UInt8(ascii: "I") && begin[2] == UInt8(ascii: "X")
            && begin[3] == UInt8(ascii: ".") && begin[4] == UInt8(ascii: "4") && begin[5] == UInt8(ascii: ".")
            && begin[6] == UInt8(ascii: "4")) {
            let prefix = "FIX.".utf8
            if begin.count > 4 && begin.prefix(4).elementsEqual(prefix) {
                throw .unsupportedBeginString(String(decoding: begin, as: UTF8.self))
            }
            throw .garbled(.beginStringNotFirst)
        }
        fields.append(FIXField(tag: 8, start: f8.value, end: f8.soh))
        // 9=len
        let f9 = field(b, at: f8.soh + 1, end: n)
        guard f9.tag == FIXTag.bodyLength, f9.soh < n,
            let announced = FIXParse.int(UnsafeBufferPointer(rebasing: b[f9.value..<f9.soh])), announced >= 0
        else { throw .garbled(.bodyLengthNotSecond) }
        fields.append(FIXField(tag: 9, start: f9.value, end: f9.soh))
        let bodyStart = f9.soh + 1
        // Trailer: the frame must end with 10=ddd<SOH>.
        let t = n - 7
        guard t > bodyStart, b[t] == UInt8(ascii: "1"), b[t + 1] == UInt8(ascii: "0"), b[t + 2] == UInt8(ascii: "="),
            b[n - 1] == soh, b[t - 1] == soh
        else { throw .garbled(.checkSumNotLast) }
        guard t - bodyStart == announced else {
            throw .garbled(.bodyLengthIncorrect(announced: announced, actual: t - bodyStart))
        }
        guard let received = FIXParse.int(UnsafeBufferPointer(rebasing: b[(t + 3)..<(n - 1)])) else {
            throw .garbled(.checkSumNotLast)
        }
        var sum = 0
        for k in 0..<t { sum &+= Int(b[k]) }
        sum &= 0xFF
        guard sum == received else { throw .garbled(.checkSumIncorrect(received: received, computed: sum)) }
        // 35=type
        let f35 = field(b, at: bodyStart, end: t)
        guard f35.tag == FIXTag.msgType, f35.soh < t, f35.soh > f35.value else { throw .garbled(.msgTypeNotThird) }
        fields.append(FIXField(tag: 35, start: f35.value, end: f35.soh))
        let msgType = FIXMsgType(String(decoding: UnsafeBufferPointer(rebasing: b[f35.value..<f35.soh]), as: UTF8.self))

        // Body fields: collect the first problem but keep going, so that the
        // Reject can still name MsgSeqNum and PossDupFlag.
        var problem: (tag: Int?, reason: SessionRejectReason, text: String)?
        var seqNum: Int?
        var possDup = false
        var inHeader = true
        var bodyFieldIndex = -1
        var bodyByteStart = t
        // Members seen in the current group instance, by index in memberTags.
        var group: (spec: FIXGroupSpec, count: Int, instances: Int, seenInInstance: UInt64)? = nil
        var i = f35.soh + 1
        while i < t {
            let f = field(b, at: i, end: t)
            let fieldStart = i
            i = f.soh + 1
            if fields.count >= limits.maximumFieldCount {
                if problem == nil { problem = (nil, .other, "more than \(limits.maximumFieldCount) fields") }
                break
            }
            guard f.tag > 0 else {
                if problem == nil { problem = (nil, .invalidTagNumber, "invalid tag number") }
                continue
            }
            let tag = f.tag
            fields.append(FIXField(tag: tag, start: f.value, end: f.soh))
            if f.value == f.soh, problem == nil {
                problem = (tag, .tagSpecifiedWithoutValue, "tag \(tag) specified without a value")
            }
            if tag == FIXTag.msgSeqNum { seqNum = FIXParse.int(UnsafeBufferPointer(rebasing: b[f.value..<f.soh])) }
            if tag == FIXTag.possDupFlag { possDup = f.soh == f.value + 1 && b[f.value] == UInt8(ascii: "Y") }
            if tag == FIXTag.beginString || tag == FIXTag.bodyLength || tag == FIXTag.msgType || tag == FIXTag.checkSum {
                if problem == nil { problem = (tag, .tagSpecifiedOutOfRequiredOrder, "tag \(tag) out of required order") }
                continue
            }
            if FIXTag.isHeader(tag) {
                if !inHeader, problem == nil {
                    problem = (tag, .tagSpecifiedOutOfRequiredOrder, "header tag \(tag) after body")
                }
            } else if inHeader {
                inHeader = false
                bodyFieldIndex = fields.count - 1
                bodyByteStart = fieldStart
            }
            // Repeating groups: members may repeat, once per instance.
            if var g = group {
                if let member = g.spec.memberTags.firstIndex(of: tag) {
                    let bit: UInt64 = member < 64 ? 1 << UInt64(member) : 0
                    if tag == g.spec.delimiterTag {
                        g.instances += 1
                        g.seenInInstance = 0
                        if g.instances > g.count, problem == nil {
                            problem = (g.spec.countTag, .incorrectNumInGroupCount, "more group instances than tag \(g.spec.countTag) says")
                        }
                    } else if g.instances == 0 || g.seenInInstance & bit != 0 {
                        if problem == nil { problem = (tag, .repeatingGroupFieldsOutOfOrder, "repeating group tag \(tag) out of order") }
                    }
                    g.seenInInstance |= bit
                    group = g
                    continue
                }
                if g.instances != g.count, problem == nil {
                    problem = (g.spec.countTag, .incorrectNumInGroupCount, "tag \(g.spec.countTag) says \(g.count) instances, found \(g.instances)")
                }
                group = nil
            }
            if seen.contains(tag) {
                if problem == nil { problem = (tag, .tagAppearsMoreThanOnce, "tag \(tag) appears more than once") }
            } else {
                seen.insert(tag)
            }
            if !groups.isEmpty, let spec = groupSpec(for: tag) {
                let count = FIXParse.int(UnsafeBufferPointer(rebasing: b[f.value..<f.soh]))
                if let count, count >= 0 {
                    if count > 0 { group = (spec, count, 0, 0) }
                } else if problem == nil {
                    problem = (tag, .incorrectDataFormat, "NumInGroup tag \(tag) not a count")
                }
            }
        }
        if let g = group, g.instances != g.count, problem == nil {
            problem = (g.spec.countTag, .incorrectNumInGroupCount, "tag \(g.spec.countTag) says \(g.count) instances, found \(g.instances)")
        }
        if let problem {
            throw .invalid(FIXRejectInfo(
                refSeqNum: seqNum, refMsgType: msgType.rawValue, refTagID: problem.tag, reason: problem.reason,
                text: problem.text, possDup: possDup))
        }
        fields.append(FIXField(tag: 10, start: t + 3, end: n - 1))
        if bodyFieldIndex < 0 { bodyFieldIndex = fields.count - 1 }
        return (msgType, bodyFieldIndex, bodyByteStart..<t)
    }
}

extension FIXDecoder {
    @inline(__always)
    fileprivate func groupSpec(for tag: Int) -> FIXGroupSpec? {
        for spec in groups where spec.countTag == tag { return spec }
        return nil
    }
}

/// Tags seen so far: a bitmap for tags below 1024 (nearly all of them) in
/// caller-provided stack memory, and a short list for the rest, so duplicate
/// detection costs no allocation on ordinary messages.
struct TagSet {
    static let words = 16
    private let low: UnsafeMutableBufferPointer<UInt64>
    private var high: [Int] = []

    init(_ words: UnsafeMutableBufferPointer<UInt64>) { low = words }

    @inline(__always)
    func contains(_ tag: Int) -> Bool {
        if tag < 1024 { return (low[tag >> 6] >> UInt64(tag & 63)) & 1 == 1 }
        return high.contains(tag)
    }

    @inline(__always)
    mutating func insert(_ tag: Int) {
        if tag < 1024 {
            low[tag >> 6] |= 1 << UInt64(tag & 63)
        } else if !high.contains(tag) {
            high.append(tag)
        }
    }
}
