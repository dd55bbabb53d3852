import Cryptography

/// Bounds every decoder enforces. They exist so that a length prefix read from
/// hostile bytes can never make a member allocate more than the input could hold.
public enum CodecLimits {
    /// Longest name, symbol or share class, in UTF-8 bytes.
    public static let maxStringBytes = 256
    /// Most trades one settle batch may carry.
    public static let maxTradesPerBatch = 100_000
    /// Most transactions one block may carry.
    public static let maxTransactionsPerBlock = 10_000
    /// Largest encoded block, in bytes.
    public static let maxBlockBytes = 64 * 1024 * 1024
    /// Most signatures a commit certificate may carry.
    public static let maxCertificateSignatures = 1024
    /// Version byte written first in every top-level encoding.
    public static let version: UInt8 = 1
}

/// What was wrong with bytes that did not decode, naming the field.
public struct DecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    public var field: String
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(field): \(reason)" }
}

/// Appends the canonical encoding: big-endian integers, strings as a UInt16
/// byte-length and UTF-8, arrays as a UInt32 count. One writer for everything that
/// is hashed or signed, so that "the same value" always means "the same bytes".
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inline(__always) public mutating func u8(_ value: UInt8) { bytes.append(value) }

    @inline(__always) public mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    @inline(__always) public mutating func u32(_ value: UInt32) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    @inline(__always) public mutating func u64(_ value: UInt64) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    @inline(__always) public mutating func i64(_ value: Int64) { u64(UInt64(bitPattern: value)) }

    public mutating func bool(_ value: Bool) { u8(value ? 1 : 0) }

    public mutating func digest(_ value: SHA256Digest) {
        u64(value.w0); u64(value.w1); u64(value.w2); u64(value.w3)
    }

    /// Strings longer than the limit are cut at the last whole character that
    /// fits, so the result is still valid UTF-8 and decodes. The ledger rejects
    /// over-long names, but a rejection echoes the value into the receipt.
    public mutating func string(_ value: String) {
        var utf8 = Array(value.utf8)
        if utf8.count > CodecLimits.maxStringBytes {
            var end = CodecLimits.maxStringBytes
            while end > 0 && (utf8[end] & 0xC0) == 0x80 { end -= 1 }
            utf8.removeSubrange(end...)
        }
        u16(UInt16(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    public mutating func raw(_ value: [UInt8]) { bytes.append(contentsOf: value) }

    public mutating func count(_ value: Int) { u32(UInt32(truncatingIfNeeded: value)) }

    /// Appends `count` bytes written by `body` in place: the fast path for bulk
    /// fixed-width records (a settle batch's trades), one resize instead of an
    /// append per field.
    public mutating func fixed(_ count: Int, _ body: (UnsafeMutableRawBufferPointer) -> Void) {
        let start = bytes.count
        bytes.append(contentsOf: [UInt8](repeating: 0, count: count))
        bytes.withUnsafeMutableBytes { raw in body(UnsafeMutableRawBufferPointer(rebasing: raw[start..<(start + count)])) }
    }
}

/// Reads the canonical encoding from untrusted bytes. Every read checks the
/// remaining length first and reports the field it was reading.
public struct ByteReader {
    let bytes: [UInt8]
    public private(set) var position: Int

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.position = 0
    }

    public var remaining: Int { bytes.count - position }
    public var isAtEnd: Bool { position == bytes.count }

    @inline(__always) mutating func need(_ count: Int, _ field: String) throws(DecodeError) {
        guard count >= 0, count <= remaining else {
            throw DecodeError(field: field, reason: "truncated: needs \(count) bytes, \(remaining) left")
        }
    }

    public mutating func u8(_ field: String) throws(DecodeError) -> UInt8 {
        try need(1, field)
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func u16(_ field: String) throws(DecodeError) -> UInt16 {
        try need(2, field)
        defer { position += 2 }
        return UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1])
    }

    public mutating func u32(_ field: String) throws(DecodeError) -> UInt32 {
        try need(4, field)
        var value: UInt32 = 0
        for i in 0..<4 { value = value << 8 | UInt32(bytes[position + i]) }
        position += 4
        return value
    }

    public mutating func u64(_ field: String) throws(DecodeError) -> UInt64 {
        try need(8, field)
        var value: UInt64 = 0
        for i in 0..<8 { value = value << 8 | UInt64(bytes[position + i]) }
        position += 8
        return value
    }

    public mutating func i64(_ field: String) throws(DecodeError) -> Int64 {
        Int64(bitPattern: try u64(field))
    }

    public mutating func bool(_ field: String) throws(DecodeError) -> Bool {
        switch try u8(field) {
        case 0: return false
        case 1: return true
        case let other: throw DecodeError(field: field, reason: "boolean byte is \(other), expected 0 or 1")
        }
    }

    public mutating func digest(_ field: String) throws(DecodeError) -> SHA256Digest {
        try need(32, field)
        return SHA256Digest(w0: try u64(field), w1: try u64(field), w2: try u64(field), w3: try u64(field))
    }

    public mutating func string(_ field: String) throws(DecodeError) -> String {
        let length = Int(try u16(field))
        guard length <= CodecLimits.maxStringBytes else {
            throw DecodeError(field: field, reason: "string of \(length) bytes exceeds the limit \(CodecLimits.maxStringBytes)")
        }
        try need(length, field)
        let slice = bytes[position..<(position + length)]
        position += length
        guard let text = String(validating: slice, as: UTF8.self) else {
            throw DecodeError(field: field, reason: "not valid UTF-8")
        }
        return text
    }

    public mutating func raw(_ count: Int, _ field: String) throws(DecodeError) -> [UInt8] {
        try need(count, field)
        defer { position += count }
        return Array(bytes[position..<(position + count)])
    }

    /// Reads an element count and checks it against both the limit and the bytes
    /// that remain (each element needs at least `minimumElementBytes`), so a forged
    /// count cannot make the caller reserve memory the input cannot back.
    public mutating func count(_ field: String, max: Int, minimumElementBytes: Int) throws(DecodeError) -> Int {
        let value = Int(try u32(field))
        guard value <= max else {
            throw DecodeError(field: field, reason: "count \(value) exceeds the limit \(max)")
        }
        let needed = value * Swift.max(1, minimumElementBytes)
        guard needed <= remaining else {
            throw DecodeError(field: field, reason: "count \(value) needs at least \(needed) bytes, \(remaining) left")
        }
        return value
    }

    public func expectEnd(_ field: String) throws(DecodeError) {
        guard isAtEnd else {
            throw DecodeError(field: field, reason: "\(remaining) unexpected trailing bytes")
        }
    }

    public mutating func version(_ field: String) throws(DecodeError) {
        let version = try u8(field)
        guard version == CodecLimits.version else {
            throw DecodeError(field: field, reason: "unsupported version \(version), expected \(CodecLimits.version)")
        }
    }
}
