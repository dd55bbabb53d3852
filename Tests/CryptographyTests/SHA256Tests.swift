import Cryptography
import Testing

/// FIPS 180-4 examples (NIST "Cryptographic Standards and Guidelines: Examples with
/// Intermediate Values", SHA-256), plus the empty message.
@Suite("SHA-256")
struct SHA256Tests {
    @Test("FIPS 180-4 examples", arguments: [
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ])
    func fipsExamples(message: String, expected: String) {
        #expect(SHA256.hash(message).hex == expected)
        #expect(SHA256.hash(Array(message.utf8)).hex == expected)
        let hasher = SHA256Hasher()
        hasher.update(Array(message.utf8))
        #expect(hasher.finalize().hex == expected)
    }

    @Test("an empty buffer without storage hashes as the empty message")
    func emptyBufferWithoutStorage() {
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        #expect(SHA256.hash(UnsafeRawBufferPointer(start: nil, count: 0)).hex == empty)
        let hasher = SHA256Hasher()
        hasher.update(UnsafeRawBufferPointer(start: nil, count: 0))
        #expect(hasher.finalize().hex == empty)
    }

    @Test("one million 'a' fed incrementally in uneven pieces")
    func millionA() {
        let hasher = SHA256Hasher()
        // 1_000 chunks of 999 bytes and one of 1_000: chunk borders never line up with
        // the 64-byte block, which is where incremental hashing goes wrong.
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 999)
        for _ in 0..<1_000 { hasher.update(chunk) }
        hasher.update([UInt8](repeating: UInt8(ascii: "a"), count: 1_000))
        #expect(hasher.finalize().hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("a hasher reused after finalize and after reset gives the one-shot digests")
    func hasherReuse() {
        let hasher = SHA256Hasher()
        let messages: [[UInt8]] = [Array("abc".utf8), [], Array(repeating: 0x5A, count: 200), Array("abc".utf8)]
        for message in messages {
            hasher.update(message)
            #expect(hasher.finalize() == SHA256.hash(message))
        }
        hasher.update(Array("something abandoned half-way".utf8))
        hasher.reset()
        hasher.update(Array("abc".utf8))
        #expect(hasher.finalize() == SHA256.hash("abc"))
        // Finalizing with nothing fed is the digest of the empty message.
        #expect(hasher.finalize() == SHA256.hash(""))
    }

    @Test("hashing a digest feeds its 32 bytes")
    func updateWithDigest() {
        let digest = SHA256.hash("abc")
        let hasher = SHA256Hasher()
        hasher.update(digest)
        #expect(hasher.finalize() == SHA256.hash(digest.bytes))
    }

    @Test("a Merkle node is the hash of the two children's 64 bytes, left first")
    func merkleNode() {
        let left = SHA256.hash("left")
        let right = SHA256.hash("right")
        let hasher = SHA256Hasher()
        #expect(hasher.hash(left, right) == SHA256.hash(left.bytes + right.bytes))
        #expect(hasher.hash(right, left) == SHA256.hash(right.bytes + left.bytes))
        #expect(hasher.hash(left, right) != hasher.hash(right, left))
        // The hasher is ready for the next node straight away: Merkle trees hash in a loop.
        #expect(hasher.hash(left, right) == SHA256.hash(left.bytes + right.bytes))
    }

    @Test("digest bytes, hex and order agree")
    func digestRepresentations() throws {
        let digest = SHA256.hash("abc")
        #expect(digest.bytes.count == 32)
        #expect(try SHA256Digest(bytes: digest.bytes) == digest)
        #expect(try SHA256Digest(hex: digest.hex) == digest)
        #expect(try SHA256Digest(hex: digest.hex.uppercased()) == digest)
        #expect(digest.description == digest.hex)
        // Sorting digests must sort their bytes, so that sorted maps hash identically everywhere.
        let digests = ["a", "b", "c", "d", "e", "f", "g"].map { SHA256.hash($0) }
        #expect(digests.sorted().map(\.bytes) == digests.map(\.bytes).sorted { $0.lexicographicallyPrecedes($1) })
        #expect(SHA256Digest.zero.hex == String(repeating: "0", count: 64))
    }

    @Test("a digest from the wrong number of bytes names the field")
    func wrongLength() {
        #expect(throws: CryptographyError.invalidLength(field: "previous block hash", expected: 32, actual: 31)) {
            try SHA256Digest(bytes: [UInt8](repeating: 1, count: 31), field: "previous block hash")
        }
        #expect(throws: CryptographyError.invalidLength(field: "state root", expected: 32, actual: 33)) {
            try SHA256Digest(hex: String(repeating: "ab", count: 33), field: "state root")
        }
        #expect(throws: CryptographyError.invalidLength(field: "digest", expected: 32, actual: 0)) {
            try SHA256Digest(bytes: [])
        }
        let error = CryptographyError.invalidLength(field: "state root", expected: 32, actual: 33)
        #expect(error.description == "state root: expected 32 bytes, got 33")
    }

    @Test("a digest from text that is not hex names the field and the value")
    func digestFromBadHex() {
        let text = String(repeating: "g", count: 64)
        #expect(throws: CryptographyError.invalidHex(field: "block hash", value: text)) {
            try SHA256Digest(hex: text, field: "block hash")
        }
    }
}

@Suite("Hex")
struct HexTests {
    @Test("encodes lower-case and decodes either case")
    func roundTrip() throws {
        let bytes: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xAB, 0xFF]
        #expect(Hex.encode(bytes) == "00017f80abff")
        #expect(try Hex.decode("00017f80abff") == bytes)
        #expect(try Hex.decode("00017F80ABFF") == bytes)
        #expect(try Hex.decode("") == [])
    }

    @Test("decode errors name the field and the value", arguments: [
        "abc",            // odd length
        "zz",             // not hex digits
        "0x00",           // a prefix we do not accept
        "ab cd",          // whitespace
        "é1",             // non-ASCII whose UTF-8 happens to be an even number of bytes
        "٠١",             // Arabic-Indic digits: digits, but not hex
    ])
    func decodeErrors(text: String) {
        let error = #expect(throws: CryptographyError.self) { try Hex.decode(text, field: "admin key") }
        #expect(error == .invalidHex(field: "admin key", value: text))
        let message = error?.description ?? ""
        #expect(message.contains("admin key"))
        #expect(message.contains(text))
    }

    @Test("a long bad value is shortened in the message but kept whole in the error")
    func longValueShortened() {
        let text = String(repeating: "q", count: 500)
        let error = #expect(throws: CryptographyError.self) { try Hex.decode(text, field: "seed") }
        #expect(error == .invalidHex(field: "seed", value: text))
        #expect((error?.description.count ?? 0) < 200)
    }
}
