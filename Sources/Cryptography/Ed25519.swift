import COpenSSL

/// An Ed25519 public key. The OpenSSL key object is built once and kept, because
/// replicas verify thousands of messages against the same few member keys.
public final class Ed25519PublicKey: Hashable, @unchecked Sendable, CustomStringConvertible {
    // The EVP_PKEY is never mutated after init; OpenSSL 3 allows concurrent
    // verification against one key from several threads, each with its own MD_CTX.
    private let pkey: OpaquePointer
    /// The 32-byte encoding of RFC 8032.
    public let rawRepresentation: [UInt8]

    public static let byteCount = 32
    public static let signatureByteCount = 64

    public init<Bytes: Collection>(rawRepresentation bytes: Bytes, field: String = "public key") throws(CryptographyError)
    where Bytes.Element == UInt8 {
        let raw = Array(bytes)
        guard raw.count == Self.byteCount else {
            throw .invalidLength(field: field, expected: Self.byteCount, actual: raw.count)
        }
        guard let pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, raw, raw.count) else {
            throw CryptographyError.openSSLFailure("EVP_PKEY_new_raw_public_key")
        }
        self.pkey = pkey
        self.rawRepresentation = raw
    }

    public convenience init(hex: String, field: String = "public key") throws(CryptographyError) {
        try self.init(rawRepresentation: Hex.decode(hex, field: field), field: field)
    }

    /// Reads a `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo) document.
    public convenience init(pemRepresentation pem: String) throws(CryptographyError) {
        let pkey = try PEM.read(pem, isPrivate: false)
        defer { EVP_PKEY_free(pkey) }
        var raw = [UInt8](repeating: 0, count: Self.byteCount)
        var length = raw.count
        guard EVP_PKEY_get_raw_public_key(pkey, &raw, &length) == 1, length == Self.byteCount else {
            throw .invalidPEM(reason: "could not read the raw Ed25519 public key")
        }
        try self.init(rawRepresentation: raw)
    }

    deinit { EVP_PKEY_free(pkey) }

    public var hex: String { Hex.encode(rawRepresentation) }
    public var description: String { "ed25519:\(hex)" }

    public var pemRepresentation: String {
        // Writing a valid in-memory key to a memory BIO only fails when out of memory.
        (try? PEM.write(pkey, isPrivate: false)) ?? ""
    }

    /// True only for a 64-byte signature that RFC 8032 accepts for exactly `message`.
    public func isValidSignature(_ signature: UnsafeRawBufferPointer, for message: UnsafeRawBufferPointer) -> Bool {
        guard signature.count == Self.signatureByteCount else { return false }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, nil, nil, pkey) == 1 else {
            ERR_clear_error()
            return false
        }
        let result = withMessagePointer(message) { pointer, count in
            EVP_DigestVerify(
                context, signature.baseAddress?.assumingMemoryBound(to: UInt8.self), signature.count, pointer, count)
        }
        if result != 1 { ERR_clear_error() }
        return result == 1
    }

    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        signature.withUnsafeBytes { sig in message.withUnsafeBytes { isValidSignature(sig, for: $0) } }
    }

    public static func == (lhs: Ed25519PublicKey, rhs: Ed25519PublicKey) -> Bool {
        lhs.rawRepresentation == rhs.rawRepresentation
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(rawRepresentation) }
}

/// OpenSSL wants a non-null pointer even for an empty message.
@inline(__always)
private func withMessagePointer<R>(_ message: UnsafeRawBufferPointer, _ body: (UnsafePointer<UInt8>, Int) -> R) -> R {
    if let base = message.baseAddress, message.count > 0 {
        return body(base.assumingMemoryBound(to: UInt8.self), message.count)
    }
    var zero: UInt8 = 0
    return withUnsafePointer(to: &zero) { body($0, 0) }
}

/// An Ed25519 signing key. Holds the secret: never log it, and write it only with
/// `pemRepresentation` to a file that only its owner can read.
public final class Ed25519PrivateKey: @unchecked Sendable {
    // Immutable after init; OpenSSL 3 signs concurrently with a shared EVP_PKEY
    // as long as each call has its own MD_CTX, which `signature(for:)` does.
    private let pkey: OpaquePointer
    public let publicKey: Ed25519PublicKey

    public static let seedByteCount = 32

    /// A fresh key from OpenSSL's CSPRNG.
    public convenience init() throws(CryptographyError) {
        var seed = [UInt8](repeating: 0, count: Self.seedByteCount)
        guard RAND_bytes(&seed, Int32(seed.count)) == 1 else {
            throw CryptographyError.openSSLFailure("RAND_bytes")
        }
        try self.init(seed: seed)
    }

    /// The key whose RFC 8032 secret is `seed` (32 bytes).
    public init<Bytes: Collection>(seed bytes: Bytes, field: String = "private key seed") throws(CryptographyError)
    where Bytes.Element == UInt8 {
        let seed = Array(bytes)
        guard seed.count == Self.seedByteCount else {
            throw .invalidLength(field: field, expected: Self.seedByteCount, actual: seed.count)
        }
        guard let pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, seed, seed.count) else {
            throw CryptographyError.openSSLFailure("EVP_PKEY_new_raw_private_key")
        }
        var raw = [UInt8](repeating: 0, count: Ed25519PublicKey.byteCount)
        var length = raw.count
        guard EVP_PKEY_get_raw_public_key(pkey, &raw, &length) == 1 else {
            EVP_PKEY_free(pkey)
            throw CryptographyError.openSSLFailure("EVP_PKEY_get_raw_public_key")
        }
        do {
            self.publicKey = try Ed25519PublicKey(rawRepresentation: raw)
        } catch {
            EVP_PKEY_free(pkey)
            throw error
        }
        self.pkey = pkey
    }

    /// Reads a `-----BEGIN PRIVATE KEY-----` (PKCS #8, unencrypted) document.
    public convenience init(pemRepresentation pem: String) throws(CryptographyError) {
        let pkey = try PEM.read(pem, isPrivate: true)
        defer { EVP_PKEY_free(pkey) }
        var seed = [UInt8](repeating: 0, count: Self.seedByteCount)
        var length = seed.count
        guard EVP_PKEY_get_raw_private_key(pkey, &seed, &length) == 1, length == Self.seedByteCount else {
            throw .invalidPEM(reason: "could not read the raw Ed25519 private key")
        }
        try self.init(seed: seed)
    }

    deinit { EVP_PKEY_free(pkey) }

    /// The 32-byte secret seed. Treat as secret.
    public var seed: [UInt8] {
        var seed = [UInt8](repeating: 0, count: Self.seedByteCount)
        var length = seed.count
        _ = EVP_PKEY_get_raw_private_key(pkey, &seed, &length)
        return seed
    }

    public var pemRepresentation: String {
        (try? PEM.write(pkey, isPrivate: true)) ?? ""
    }

    /// The 64-byte RFC 8032 signature of `message` (deterministic: same key and
    /// message, same signature).
    public func signature(for message: UnsafeRawBufferPointer) throws(CryptographyError) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw CryptographyError.openSSLFailure("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, nil, nil, pkey) == 1 else {
            throw CryptographyError.openSSLFailure("EVP_DigestSignInit")
        }
        var signature = [UInt8](repeating: 0, count: Ed25519PublicKey.signatureByteCount)
        var length = signature.count
        let ok = withMessagePointer(message) { pointer, count in
            EVP_DigestSign(context, &signature, &length, pointer, count)
        }
        guard ok == 1, length == Ed25519PublicKey.signatureByteCount else {
            throw CryptographyError.openSSLFailure("EVP_DigestSign")
        }
        return signature
    }

    public func signature(for message: [UInt8]) throws(CryptographyError) -> [UInt8] {
        let result = message.withUnsafeBytes { buffer in
            Result { () throws(CryptographyError) -> [UInt8] in try signature(for: buffer) }
        }
        return try result.get()
    }
}

/// OpenSSL's passphrase callback that declines to supply one.
private func refusePassphrase(
    _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int32, _ writing: Int32, _ context: UnsafeMutableRawPointer?
) -> Int32 {
    -1
}

/// PEM encoding through OpenSSL's memory BIOs.
enum PEM {
    static func read(_ pem: String, isPrivate: Bool) throws(CryptographyError) -> OpaquePointer {
        let bytes = Array(pem.utf8)
        // BIO_new_mem_buf rejects a null buffer, which an empty array may hand out.
        guard !bytes.isEmpty else { throw .invalidPEM(reason: "the document is empty") }
        guard bytes.count <= 16 * 1024 else {
            throw .invalidPEM(reason: "document is \(bytes.count) bytes, larger than any key file (limit 16384)")
        }
        guard let bio = bytes.withUnsafeBytes({ BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }) else {
            throw CryptographyError.openSSLFailure("BIO_new_mem_buf")
        }
        defer { BIO_free(bio) }
        // With no callback OpenSSL asks for the passphrase of an encrypted key on the
        // terminal (or stdin), blocking the process on a hostile file. Key files are
        // unencrypted by design, so refuse any passphrase request instead.
        let pkey = isPrivate
            ? PEM_read_bio_PrivateKey(bio, nil, refusePassphrase, nil)
            : PEM_read_bio_PUBKEY(bio, nil, refusePassphrase, nil)
        guard let pkey else {
            ERR_clear_error()
            throw .invalidPEM(reason: isPrivate
                ? "no readable \"BEGIN PRIVATE KEY\" block"
                : "no readable \"BEGIN PUBLIC KEY\" block")
        }
        guard EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519 else {
            EVP_PKEY_free(pkey)
            throw .invalidPEM(reason: "the key is not an Ed25519 key")
        }
        return pkey
    }

    static func write(_ pkey: OpaquePointer, isPrivate: Bool) throws(CryptographyError) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw CryptographyError.openSSLFailure("BIO_new") }
        defer { BIO_free(bio) }
        let ok = isPrivate
            ? PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil)
            : PEM_write_bio_PUBKEY(bio, pkey)
        guard ok == 1 else { throw CryptographyError.openSSLFailure("PEM_write_bio") }
        var data: UnsafeMutablePointer<CChar>?
        let length = clearledger_BIO_get_mem_data(bio, &data)
        guard let data, length > 0 else { throw CryptographyError.openSSLFailure("BIO_get_mem_data") }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    }
}
