import Cryptography
import Testing

@testable import PBFT

@Suite struct CommitCertificateTests {
    let setup = TestSetup(n: 4, fast: false)

    func certificate(signers: [Int], sequence: UInt64 = 9) -> CommitCertificate {
        let digest = SHA256.hash("block 9")
        return CommitCertificate(
            view: 2, sequence: sequence, digest: digest,
            signatures: signers.map { member in
                let commit = setup.sign(Commit(view: 2, sequence: sequence, digest: digest, replica: ReplicaID(UInt16(member))))
                return CommitSignature(replica: commit.body.replica, signature: commit.signature)
            })
    }

    @Test func validCertificateVerifies() throws {
        let configuration = try setup.configuration()
        try certificate(signers: [0, 1, 2]).verify(against: configuration)
        try certificate(signers: [3, 1, 0, 2]).verify(against: configuration)
    }

    @Test func missingSignaturesFail() throws {
        let configuration = try setup.configuration()
        #expect(throws: CertificateError.tooFewSignatures(have: 2, need: 3)) {
            try certificate(signers: [0, 1]).verify(against: configuration)
        }
    }

    @Test func duplicateSignerFails() throws {
        let configuration = try setup.configuration()
        #expect(throws: CertificateError.duplicateSigner(ReplicaID(1))) {
            try certificate(signers: [0, 1, 1]).verify(against: configuration)
        }
    }

    @Test func forgedOrUnknownSignaturesFail() throws {
        let configuration = try setup.configuration()
        var forged = certificate(signers: [0, 1, 2])
        forged.signatures[2].signature[5] ^= 1
        #expect(throws: CertificateError.invalidSignature(ReplicaID(2))) { try forged.verify(against: configuration) }
        // Signatures for another sequence do not carry over.
        var moved = certificate(signers: [0, 1, 2])
        moved.sequence = 10
        #expect(throws: CertificateError.invalidSignature(ReplicaID(0))) { try moved.verify(against: configuration) }
        var unknown = certificate(signers: [0, 1, 2])
        unknown.signatures.append(CommitSignature(replica: ReplicaID(9), signature: unknown.signatures[0].signature))
        #expect(throws: CertificateError.unknownSigner(ReplicaID(9))) { try unknown.verify(against: configuration) }
    }

    @Test func encodesAndRefusesHostileBytes() throws {
        let original = certificate(signers: [0, 1, 2])
        let bytes = original.encoded()
        #expect(try CommitCertificate.decode(bytes, maxSigners: 4) == original)
        for length in 0..<bytes.count {
            #expect(throws: DecodingError.self) { try CommitCertificate.decode(Array(bytes.prefix(length)), maxSigners: 4) }
        }
        #expect(throws: DecodingError.tooLarge(field: "certificate.count", limit: 2, actual: 3)) {
            try CommitCertificate.decode(bytes, maxSigners: 2)
        }
        var huge = bytes
        huge[50] = 0xFF
        huge[51] = 0xFF
        #expect(throws: DecodingError.tooLarge(field: "certificate.count", limit: 4, actual: 0xFFFF)) {
            try CommitCertificate.decode(huge, maxSigners: 4)
        }
    }
}
