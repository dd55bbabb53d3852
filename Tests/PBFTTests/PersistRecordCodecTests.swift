import Cryptography
import Testing

@testable import PBFT

@Suite struct PersistRecordCodecTests {
    static func records() throws -> [PersistRecord] {
        var (fixture, batch) = try ValidationTests.accepted()
        _ = fixture.receive(fixture.prepare(1, batch.digest, from: 3), from: 3)
        let certificate = try #require(fixture.replica.preparedCertificate(for: 1))
        let header = fixture.setup.sign(PrePrepare(view: 0, sequence: 1, digest: batch.digest, replica: ReplicaID(0)))
        let root = SHA256.hash("root")
        let proof = CheckpointProof(
            sequence: 10, stateRoot: root, messages: [0, 1, 2].map { fixture.checkpointBody(10, root, from: $0) })
        return [
            .prePrepared(AcceptedPrePrepare(prePrepare: header, batch: batch)),
            .prepared(certificate),
            .stableCheckpoint(proof),
            .stableCheckpoint(.genesis(stateRoot: .zero)),
        ]
    }

    @Test func recordsRoundTripAndRebuildTheSameState() throws {
        let limits = try TestSetup(n: 4, fast: true).configuration().codecLimits
        var direct = DurableState()
        var replayed = DurableState()
        for record in try Self.records() {
            let bytes = PersistRecordCodec.encode(record)
            let decoded = try PersistRecordCodec.decode(bytes, limits: limits)
            #expect(decoded == record)
            direct.apply(record)
            replayed.apply(decoded)
        }
        #expect(direct == replayed)
    }

    @Test func tornAndHostileRecordsAreErrors() throws {
        let limits = try TestSetup(n: 4, fast: true).configuration().codecLimits
        var random = SeededRandom(seed: 9)
        for record in try Self.records() {
            let bytes = PersistRecordCodec.encode(record)
            for length in 0..<bytes.count {
                #expect(throws: DecodingError.self) { try PersistRecordCodec.decode(Array(bytes.prefix(length)), limits: limits) }
            }
            for _ in 0..<500 {
                var mutated = bytes
                mutated[Int(random.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: random.next() | 1)
                if let decoded = try? PersistRecordCodec.decode(mutated, limits: limits) {
                    #expect(PersistRecordCodec.encode(decoded) == mutated)
                }
            }
        }
        // A proof that claims 65535 checkpoint messages in a few bytes.
        var writer = ByteWriter()
        writer.u8(MessageCodec.version)
        writer.u8(0x12)
        writer.u64(10)
        writer.digest(.zero)
        writer.u16(UInt16.max)
        #expect(throws: DecodingError.self) { try PersistRecordCodec.decode(writer.bytes, limits: limits) }
        #expect(throws: DecodingError.unknownTag(0x13)) { try PersistRecordCodec.decode([1, 0x13], limits: limits) }
    }
}
