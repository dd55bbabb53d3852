import COpenSSL

/// A SHA-256 digest held inline as four big-endian words: hashing, comparing and
/// storing digests (block hashes, Merkle nodes, state roots) never touches the heap.
public struct SHA256Digest: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var w0: UInt64
    public var w1: UInt64
    public var w2: UInt64
    public var w3: UInt64

    public static let zero = SHA256Digest(w0: 0, w1: 0, w2: 0, w3: 0)
    public static let byteCount = 32

    public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    /// Reads 32 bytes; `field` names the input in the error.
    public init<Bytes: Collection>(bytes: Bytes, field: String = "digest") throws(CryptographyError)
    where Bytes.Element == UInt8 {
        guard bytes.count == 32 else {
            throw .invalidLength(field: field, expected: 32, actual: bytes.count)
        }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var index = 0
        for byte in bytes {
            let shift = UInt64(56 - 8 * (index % 8))
            switch index / 8 {
            case 0: words.0 |= UInt64(byte) << shift
            case 1: words.1 |= UInt64(byte) << shift
            case 2: words.2 |= UInt64(byte) << shift
            default: words.3 |= UInt64(byte) << shift
            }
            index += 1
        }
        self.init(w0: words.0, w1: words.1, w2: words.2, w3: words.3)
    }

    public init(hex: String, field: String = "digest") throws(CryptographyError) {
        try self.init(bytes: Hex.decode(hex, field: field), field: field)
    }

    /// Builds a digest from 32 bytes the caller guarantees are there (OpenSSL output).
    init(unsafe pointer: UnsafeRawPointer) {
        w0 = UInt64(bigEndian: pointer.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        w1 = UInt64(bigEndian: pointer.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        w2 = UInt64(bigEndian: pointer.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        w3 = UInt64(bigEndian: pointer.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
    }

    /// Calls `body` with the 32 digest bytes in network order, without allocating.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var words = (w0.bigEndian, w1.bigEndian, w2.bigEndian, w3.bigEndian)
        return try Swift.withUnsafeBytes(of: &words) { try body($0) }
    }

    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
    public var hex: String { withUnsafeBytes { Hex.encode($0) } }
    public var description: String { hex }

    public static func < (lhs: SHA256Digest, rhs: SHA256Digest) -> Bool {
        (lhs.w0, lhs.w1, lhs.w2, lhs.w3) < (rhs.w0, rhs.w1, rhs.w2, rhs.w3)
    }
}

/// The SHA-256 algorithm object, fetched from OpenSSL's provider once: an implicit
/// fetch per call (what `EVP_sha256()` does in OpenSSL 3) costs more than hashing a
/// Merkle node.
final class FetchedSHA256: @unchecked Sendable {
    // EVP_MD objects are immutable once fetched and documented as safe to share.
    let md: OpaquePointer

    static let shared = FetchedSHA256()

    private init() {
        guard let md = EVP_MD_fetch(nil, "SHA256", nil) else {
            // Without SHA-256 the process cannot check a single block; there is no
            // meaningful way to continue.
            preconditionFailure("OpenSSL has no SHA256 implementation: \(CryptographyError.openSSLFailure("EVP_MD_fetch"))")
        }
        self.md = md
    }
}

public enum SHA256 {
    /// One-shot digest of a contiguous byte buffer.
    public static func hash(_ buffer: UnsafeRawBufferPointer) -> SHA256Digest {
        var out = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return Swift.withUnsafeMutableBytes(of: &out) { outBytes in
            let base = outBytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let ok = EVP_Digest(buffer.baseAddress, buffer.count, base, nil, FetchedSHA256.shared.md, nil)
            precondition(ok == 1, "EVP_Digest(SHA256) failed: \(CryptographyError.openSSLFailure("EVP_Digest"))")
            return SHA256Digest(unsafe: UnsafeRawPointer(base))
        }
    }

    public static func hash(_ data: [UInt8]) -> SHA256Digest {
        data.withUnsafeBytes { hash($0) }
    }

    public static func hash(_ string: String) -> SHA256Digest {
        var copy = string
        return copy.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }
}

/// Incremental SHA-256 that reuses one OpenSSL context across many digests, for
/// callers that hash in a loop (Merkle trees, state roots). Confine an instance to
/// one thread.
public final class SHA256Hasher {
    private let context: OpaquePointer

    public init() {
        guard let context = EVP_MD_CTX_new() else {
            preconditionFailure("EVP_MD_CTX_new failed: out of memory")
        }
        self.context = context
        reset()
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Starts a new digest, discarding anything fed so far.
    public func reset() {
        let ok = EVP_DigestInit_ex2(context, FetchedSHA256.shared.md, nil)
        precondition(ok == 1, "EVP_DigestInit_ex2 failed")
    }

    public func update(_ buffer: UnsafeRawBufferPointer) {
        guard buffer.count > 0 else { return }
        let ok = EVP_DigestUpdate(context, buffer.baseAddress, buffer.count)
        precondition(ok == 1, "EVP_DigestUpdate failed")
    }

    public func update(_ data: [UInt8]) {
        data.withUnsafeBytes { update($0) }
    }

    public func update(_ digest: SHA256Digest) {
        digest.withUnsafeBytes { update($0) }
    }

    /// Finishes the digest and leaves the hasher ready for the next one.
    public func finalize() -> SHA256Digest {
        var out = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        let digest = Swift.withUnsafeMutableBytes(of: &out) { outBytes in
            let base = outBytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let ok = EVP_DigestFinal_ex(context, base, nil)
            precondition(ok == 1, "EVP_DigestFinal_ex failed")
            return SHA256Digest(unsafe: UnsafeRawPointer(base))
        }
        reset()
        return digest
    }

    /// Digest of two digests concatenated: one Merkle interior node. Bytes fed
    /// with `update` before the call are part of the digest too, so call it on a
    /// hasher that was just created or finalized.
    public func hash(_ left: SHA256Digest, _ right: SHA256Digest) -> SHA256Digest {
        var words = (left.w0.bigEndian, left.w1.bigEndian, left.w2.bigEndian, left.w3.bigEndian,
                     right.w0.bigEndian, right.w1.bigEndian, right.w2.bigEndian, right.w3.bigEndian)
        Swift.withUnsafeBytes(of: &words) { update($0) }
        return finalize()
    }
}
