import Cryptography
import Testing

/// Key documents as the `openssl` command line writes them: what an operator hands us.
enum PEMFixtures {
    /// `openssl pkey` of the RFC 8032 TEST 1 secret key (PKCS #8).
    static let test1Private = """
        -----BEGIN PRIVATE KEY-----
        MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g
        -----END PRIVATE KEY-----

        """
    /// `openssl pkey -pubout` of the same key (SubjectPublicKeyInfo).
    static let test1Public = """
        -----BEGIN PUBLIC KEY-----
        MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
        -----END PUBLIC KEY-----

        """
    /// A NIST P-256 key (`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`):
    /// well-formed, but the wrong algorithm.
    static let p256Private = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLsSTAgDkxRQp7uGM
        tqOqBkEYyt7rJPVGl/f1u0B3gMahRANCAATT897/trziBlsgUVAGfarjZab73wGC
        5kN6cp7oEJGMwl52Lsv6NX5fyh4Y6m1qmTe2twdQl9h7MbD1HDp7t2NQ
        -----END PRIVATE KEY-----

        """
    static let p256Public = """
        -----BEGIN PUBLIC KEY-----
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE0/Pe/7a84gZbIFFQBn2q42Wm+98B
        guZDenKe6BCRjMJedi7L+jV+X8oeGOptapk3trcHUJfYezGw9Rw6e7djUA==
        -----END PUBLIC KEY-----

        """
    /// An Ed25519 key encrypted with a passphrase (`openssl genpkey -algorithm ed25519
    /// -aes-128-cbc`). Key files are unencrypted by design; this must be refused, not
    /// answered with a passphrase prompt on the terminal.
    static let encryptedPrivate = """
        -----BEGIN ENCRYPTED PRIVATE KEY-----
        MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAgszGFHtHoh+gICCAAw
        DAYIKoZIhvcNAgkFADAdBglghkgBZQMEAQIEEEZoFwUegFaBMWpjqw2T1QsEQPgI
        04mD4015TFA2xsy1YRWpswGBoZvkMCJQsVPe1gZ5t1t1OeqwGbTEDk9/+ku9GvhI
        FMjpBwdsHAekV+3YT1A=
        -----END ENCRYPTED PRIVATE KEY-----

        """
}

/// The reason of an `.invalidPEM` error, or nil (and a recorded failure) for anything else.
private func pemFailureReason(
    _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation
) -> String? {
    do {
        try body()
        Issue.record("expected CryptographyError.invalidPEM, but the document was accepted", sourceLocation: sourceLocation)
    } catch CryptographyError.invalidPEM(let reason) {
        return reason
    } catch {
        Issue.record("expected CryptographyError.invalidPEM, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

@Suite("PEM key files")
struct PEMTests {
    @Test("private and public keys round-trip through PEM")
    func roundTrip() throws {
        let key = try Ed25519PrivateKey()
        let privatePEM = key.pemRepresentation
        #expect(privatePEM.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        #expect(privatePEM.hasSuffix("-----END PRIVATE KEY-----\n"))
        let reread = try Ed25519PrivateKey(pemRepresentation: privatePEM)
        #expect(reread.seed == key.seed)
        #expect(reread.publicKey == key.publicKey)

        let publicPEM = key.publicKey.pemRepresentation
        #expect(publicPEM.hasPrefix("-----BEGIN PUBLIC KEY-----\n"))
        #expect(publicPEM.hasSuffix("-----END PUBLIC KEY-----\n"))
        #expect(try Ed25519PublicKey(pemRepresentation: publicPEM) == key.publicKey)

        // A signature made with the re-read key verifies with the re-read public key.
        let signature = try reread.signature(for: Array("round trip".utf8))
        #expect(try Ed25519PublicKey(pemRepresentation: publicPEM).isValidSignature(signature, for: Array("round trip".utf8)))
    }

    @Test("documents written by the openssl command line read as the same key, and we write them identically")
    func interoperatesWithOpenSSL() throws {
        let vector = RFC8032Vector.all[0]
        let key = try Ed25519PrivateKey(pemRepresentation: PEMFixtures.test1Private)
        #expect(Hex.encode(key.seed) == vector.secretKey)
        #expect(key.publicKey.hex == vector.publicKey)
        #expect(try Ed25519PublicKey(pemRepresentation: PEMFixtures.test1Public).hex == vector.publicKey)
        #expect(key.pemRepresentation == PEMFixtures.test1Private)
        #expect(key.publicKey.pemRepresentation == PEMFixtures.test1Public)
    }

    @Test("a private key document is not a public key, and the reverse")
    func swappedKinds() {
        #expect(pemFailureReason { _ = try Ed25519PublicKey(pemRepresentation: PEMFixtures.test1Private) } != nil)
        #expect(pemFailureReason { _ = try Ed25519PrivateKey(pemRepresentation: PEMFixtures.test1Public) } != nil)
    }

    @Test("a P-256 key is refused as not Ed25519")
    func otherAlgorithm() {
        let privateReason = pemFailureReason { _ = try Ed25519PrivateKey(pemRepresentation: PEMFixtures.p256Private) }
        #expect(privateReason?.contains("not an Ed25519 key") == true, "\(privateReason ?? "")")
        let publicReason = pemFailureReason { _ = try Ed25519PublicKey(pemRepresentation: PEMFixtures.p256Public) }
        #expect(publicReason?.contains("not an Ed25519 key") == true, "\(publicReason ?? "")")
    }

    @Test("hostile documents throw invalidPEM", arguments: [
        ("empty", ""),
        ("garbage", "this is not a key file\n"),
        ("binary noise", String(decoding: (0..<256).map { UInt8($0) }, as: UTF8.self)),
        ("header only", "-----BEGIN PRIVATE KEY-----\n"),
        ("truncated", String(PEMFixtures.test1Private.prefix(60))),
        ("body cut short", PEMFixtures.test1Private.replacing("BCIEIJ1hsZ3v", with: "", maxReplacements: 1)),
        ("bad base64", PEMFixtures.test1Private.replacing("MC4CAQAw", with: "MC4C!!Aw", maxReplacements: 1)),
        ("encrypted", PEMFixtures.encryptedPrivate),
    ])
    func hostilePrivate(name: String, document: String) {
        #expect(pemFailureReason { _ = try Ed25519PrivateKey(pemRepresentation: document) } != nil, "\(name)")
        #expect(pemFailureReason { _ = try Ed25519PublicKey(pemRepresentation: document) } != nil, "\(name)")
    }

    @Test("a 20 KB document is refused by size before OpenSSL parses it")
    func oversized() {
        let body = String(repeating: "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\n", count: 20 * 1024 / 65)
        let document = "-----BEGIN PRIVATE KEY-----\n" + body + "-----END PRIVATE KEY-----\n"
        #expect(document.utf8.count > 20_000)
        for reason in [
            pemFailureReason { _ = try Ed25519PrivateKey(pemRepresentation: document) },
            pemFailureReason { _ = try Ed25519PublicKey(pemRepresentation: document) },
        ] {
            #expect(reason?.contains("larger than any key file") == true, "\(reason ?? "")")
        }
    }
}
