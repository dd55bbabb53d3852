/// Limits that bound what one peer can make us buffer or index.
public struct FIXLimits: Sendable, Equatable {
    /// Whole frame, header to trailer. A BodyLength announcing more is refused
    /// before the bytes arrive, so a peer cannot make us buffer unbounded input.
    public var maximumMessageSize: Int
    public var maximumFieldCount: Int

    public init(maximumMessageSize: Int = 64 * 1024, maximumFieldCount: Int = 1024) {
        self.maximumMessageSize = maximumMessageSize
        self.maximumFieldCount = maximumFieldCount
    }
}

/// Finds message boundaries in a TCP byte stream. Stateless: the caller keeps
/// the bytes (a NIO `ByteBuffer`'s readable view, say) and asks again when more
/// arrive, so there is no copy until a whole frame is there.
///
/// The framer only checks what it needs to cut the stream: `8=FIX…`, `9=`
/// digits, and `10=ddd<SOH>` exactly where BodyLength says. Everything else
/// (checksum, field syntax, header order) is the decoder's job.
public enum FIXFramer {
    public enum Result: Sendable, Equatable {
        /// A frame of this many bytes starts at offset 0.
        case frame(length: Int)
        /// Not enough bytes yet to decide.
        case needMoreBytes
        /// The bytes at offset 0 do not start a well-formed frame (garbage, or a
        /// frame whose BodyLength does not land on `10=`). Discard this many bytes
        /// and frame again: they reach the next `8=FIX` candidate. Per the FIX
        /// spec a garbled message is ignored without consuming a sequence number;
        /// before Logon the acceptor should disconnect instead.
        case garbled(discard: Int)
        /// BodyLength announces a frame larger than the limit: disconnect, since
        /// skipping it would mean trusting the length that is the problem.
        case tooLarge(announced: Int)
    }

    static let beginPrefix: [UInt8] = Array("8=FIX".utf8)
    static let maximumBeginStringLength = 16
    static let maximumBodyLengthDigits = 7

    public static func frame(_ bytes: [UInt8], limits: FIXLimits = FIXLimits()) -> Result {
        bytes.withUnsafeBytes { frame($0, limits: limits) }
    }

    public static func frame(_ buffer: UnsafeRawBufferPointer, limits: FIXLimits = FIXLimits()) -> Result {
        let n = buffer.count
        if n == 0 { return .needMoreBytes }
        // "8=FIX" prefix, as far as we have it.
        var i = 0
        while i < beginPrefix.count {
            if i >= n { return .needMoreBytes }
            if buffer[i] != beginPrefix[i] { return .garbled(discard: resync(buffer)) }
            i += 1
        }
        // Rest of BeginString up to SOH.
        while true {
            if i >= n { return i > maximumBeginStringLength ? .garbled(discard: resync(buffer)) : .needMoreBytes }
            let c = buffer[i]
            if c == soh { break }
            if i >= maximumBeginStringLength || c == UInt8(ascii: "=") { return .garbled(discard: resync(buffer)) }
            i += 1
        }
        i += 1
        // "9=" digits SOH.
        for expected in [UInt8(ascii: "9"), UInt8(ascii: "=")] {
            if i >= n { return .needMoreBytes }
            if buffer[i] != expected { return .garbled(discard: resync(buffer)) }
            i += 1
        }
        var bodyLength = 0
        var digits = 0
        while true {
            if i >= n { return .needMoreBytes }
            let c = buffer[i]
            if c == soh { break }
            let d = c &- UInt8(ascii: "0")
            guard d < 10, digits < maximumBodyLengthDigits else { return .garbled(discard: resync(buffer)) }
            bodyLength = bodyLength * 10 + Int(d)
            digits += 1
            i += 1
        }
        if digits == 0 { return .garbled(discard: resync(buffer)) }
        i += 1
        let total = i + bodyLength + 7
        if total > limits.maximumMessageSize { return .tooLarge(announced: total) }
        if n < total { return .needMoreBytes }
        let t = i + bodyLength
        guard buffer[t] == UInt8(ascii: "1"), buffer[t + 1] == UInt8(ascii: "0"), buffer[t + 2] == UInt8(ascii: "="),
            isDigit(buffer[t + 3]), isDigit(buffer[t + 4]), isDigit(buffer[t + 5]), buffer[t + 6] == soh,
            bodyLength == 0 || buffer[t - 1] == soh
        else { return .garbled(discard: resync(buffer)) }
        return .frame(length: total)
    }

    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }

    /// Offset of the next `8=FIX` after offset 0 (or of a trailing partial match
    /// of it), so a garbled frame costs only its own bytes.
    static func resync(_ buffer: UnsafeRawBufferPointer) -> Int {
        let n = buffer.count
        var start = 1
        while start < n {
            var k = 0
            while k < beginPrefix.count, start + k < n, buffer[start + k] == beginPrefix[k] { k += 1 }
            if k == beginPrefix.count || start + k == n { return start }
            start += 1
        }
        return n
    }
}
