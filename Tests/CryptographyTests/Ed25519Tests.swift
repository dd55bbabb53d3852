import Cryptography
import Testing

/// RFC 8032, section 7.1: Ed25519 test vectors.
struct RFC8032Vector: Sendable, CustomTestStringConvertible {
    let name: String
    let secretKey: String
    let publicKey: String
    let message: String
    let signature: String

    var testDescription: String { name }

    static let all: [RFC8032Vector] = [
        RFC8032Vector(
            name: "TEST 1",
            secretKey: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            message: "",
            signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                + "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        RFC8032Vector(
            name: "TEST 2",
            secretKey: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            message: "72",
            signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
                + "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        RFC8032Vector(
            name: "TEST 3",
            secretKey: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            publicKey: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            message: "af82",
            signature: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
                + "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ]
}

@Suite("Ed25519")
struct Ed25519Tests {
    @Test("RFC 8032 7.1: seed gives the public key, signature is byte for byte, and verifies",
          arguments: RFC8032Vector.all)
    func rfc8032(vector: RFC8032Vector) throws {
        let key = try Ed25519PrivateKey(seed: Hex.decode(vector.secretKey))
        #expect(key.publicKey.hex == vector.publicKey)
        #expect(key.seed == (try Hex.decode(vector.secretKey)))

        let message = try Hex.decode(vector.message)
        let signature = try key.signature(for: message)
        #expect(Hex.encode(signature) == vector.signature)
        // Deterministic: signing again gives the same bytes.
        #expect(try key.signature(for: message) == signature)

        // A verifier only has the public key's bytes, not the private key object.
        let publicKey = try Ed25519PublicKey(hex: vector.publicKey)
        #expect(publicKey == key.publicKey)
        #expect(publicKey.isValidSignature(try Hex.decode(vector.signature), for: message))
    }

    @Test("a signature does not verify under another key")
    func wrongKey() throws {
        let test1 = RFC8032Vector.all[0]
        let test2 = RFC8032Vector.all[1]
        let otherKey = try Ed25519PublicKey(hex: test2.publicKey)
        #expect(!otherKey.isValidSignature(try Hex.decode(test1.signature), for: try Hex.decode(test1.message)))
        let fresh = try Ed25519PrivateKey()
        #expect(!fresh.publicKey.isValidSignature(try Hex.decode(test1.signature), for: []))
    }

    @Test("no single flipped bit in the signature or the message verifies")
    func flippedBits() throws {
        let vector = RFC8032Vector.all[2]
        let key = try Ed25519PublicKey(hex: vector.publicKey)
        let signature = try Hex.decode(vector.signature)
        let message = try Hex.decode(vector.message)
        #expect(key.isValidSignature(signature, for: message))

        // All 512 bits: about 512 verifies, tens of milliseconds.
        var accepted: [Int] = []
        for bit in 0..<(signature.count * 8) {
            var flipped = signature
            flipped[bit / 8] ^= 1 << UInt8(bit % 8)
            if key.isValidSignature(flipped, for: message) { accepted.append(bit) }
        }
        #expect(accepted.isEmpty, "signature bits that still verify when flipped: \(accepted)")

        for bit in 0..<(message.count * 8) {
            var flipped = message
            flipped[bit / 8] ^= 1 << UInt8(bit % 8)
            #expect(!key.isValidSignature(signature, for: flipped), "message bit \(bit)")
        }
        #expect(!key.isValidSignature(signature, for: message + [0]))
        #expect(!key.isValidSignature(signature, for: []))
    }

    @Test("signatures of the wrong size are refused, not trimmed or padded")
    func wrongSizedSignatures() throws {
        let vector = RFC8032Vector.all[1]
        let key = try Ed25519PublicKey(hex: vector.publicKey)
        let signature = try Hex.decode(vector.signature)
        let message = try Hex.decode(vector.message)
        #expect(!key.isValidSignature(Array(signature.dropLast()), for: message))
        #expect(!key.isValidSignature([], for: message))
        #expect(!key.isValidSignature(signature + [0], for: message))
        #expect(!key.isValidSignature(signature + signature, for: message))
        #expect(!key.isValidSignature([UInt8](repeating: 0, count: 64), for: message))
        #expect(!key.isValidSignature([UInt8](repeating: 0xFF, count: 64), for: message))
    }

    @Test("keys and seeds of the wrong length throw invalidLength naming the field")
    func wrongLengthKeys() {
        #expect(throws: CryptographyError.invalidLength(field: "member key", expected: 32, actual: 31)) {
            try Ed25519PublicKey(rawRepresentation: [UInt8](repeating: 1, count: 31), field: "member key")
        }
        #expect(throws: CryptographyError.invalidLength(field: "member key", expected: 32, actual: 33)) {
            try Ed25519PublicKey(hex: String(repeating: "01", count: 33), field: "member key")
        }
        #expect(throws: CryptographyError.invalidHex(field: "member key", value: "not a key")) {
            try Ed25519PublicKey(hex: "not a key", field: "member key")
        }
        #expect(throws: CryptographyError.invalidLength(field: "private key seed", expected: 32, actual: 0)) {
            try Ed25519PrivateKey(seed: [])
        }
    }

    @Test("signing an empty and a large message round-trips with a fresh key")
    func freshKey() throws {
        let key = try Ed25519PrivateKey()
        let other = try Ed25519PrivateKey()
        #expect(key.publicKey != other.publicKey)
        for message in [[], [UInt8](repeating: 7, count: 1 << 20)] as [[UInt8]] {
            let signature = try key.signature(for: message)
            #expect(signature.count == 64)
            #expect(key.publicKey.isValidSignature(signature, for: message))
        }
    }

    @Test("one key signs and verifies from many tasks at once")
    func concurrentUse() async throws {
        let key = try Ed25519PrivateKey(seed: Hex.decode(RFC8032Vector.all[2].secretKey))
        let expected = try Hex.decode(RFC8032Vector.all[2].signature)
        let message = try Hex.decode(RFC8032Vector.all[2].message)
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<50 {
                        let signature = try key.signature(for: message)
                        guard signature == expected, key.publicKey.isValidSignature(signature, for: message) else {
                            return false
                        }
                    }
                    return true
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results == Array(repeating: true, count: 8))
    }
}
