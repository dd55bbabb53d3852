import Cryptography
import Testing

@testable import PBFT

@Suite struct CodecTests {
    static func samples(_ setup: TestSetup) -> [Message] {
        let batch = Batch(timestamp: 77, requests: [setup.request(1), setup.request(2, client: Keys.adminID, payload: [])])
        let digest = batch.digest
        return [
            .request(setup.request(9, payload: [1, 2, 3])),
            .prePrepare(setup.sign(PrePrepare(view: 3, sequence: 5, digest: digest, replica: ReplicaID(3))), batch),
            .prePrepare(
                setup.sign(PrePrepare(view: 0, sequence: 1, digest: Batch(timestamp: 0, requests: []).digest, replica: ReplicaID(0))),
                Batch(timestamp: 0, requests: [])),
            .prepare(setup.sign(Prepare(view: 1, sequence: UInt64.max, digest: digest, replica: ReplicaID(2)))),
            .commit(setup.sign(Commit(view: 0, sequence: 1, digest: digest, replica: ReplicaID(1)))),
            .checkpoint(setup.sign(Checkpoint(sequence: 10, stateRoot: digest, replica: ReplicaID(0)))),
            .reply(setup.sign(Reply(
                view: 2, sequence: 4, client: Keys.exchangeID, requestID: 8, status: .failed, result: Array("no cash".utf8),
                replica: ReplicaID(3)))),
        ]
    }

    @Test func roundTripsEveryMessage() throws {
        let setup = TestSetup(n: 4, fast: false)
        let limits = try setup.configuration().codecLimits
        for message in Self.samples(setup) {
            let bytes = MessageCodec.encode(message)
            #expect(try MessageCodec.decode(bytes, limits: limits) == message)
            #expect(MessageCodec.encode(try MessageCodec.decode(bytes, limits: limits)) == bytes)
        }
    }

    @Test func storedBatchesRoundTrip() throws {
        let setup = TestSetup(n: 4, fast: true)
        let limits = try setup.configuration().codecLimits
        let batch = Batch(timestamp: 12, requests: [setup.request(1), setup.request(2)])
        let bytes = MessageCodec.encode(batch)
        #expect(try MessageCodec.decodeBatch(bytes, limits: limits) == batch)
        #expect(throws: DecodingError.trailingBytes(count: 1)) { try MessageCodec.decodeBatch(bytes + [0], limits: limits) }
    }

    @Test func signedBytesSeparateMessageTypes() {
        let digest = SHA256.hash("x")
        let prepare = Prepare(view: 1, sequence: 2, digest: digest, replica: ReplicaID(1))
        let commit = Commit(view: 1, sequence: 2, digest: digest, replica: ReplicaID(1))
        #expect(MessageCodec.signingBytes(prepare) != MessageCodec.signingBytes(commit))
    }

    @Test func everyTruncationIsAnError() throws {
        let setup = TestSetup(n: 4, fast: true)
        let limits = try setup.configuration().codecLimits
        for message in Self.samples(setup) {
            let bytes = MessageCodec.encode(message)
            for length in 0..<bytes.count {
                #expect(throws: DecodingError.self) { try MessageCodec.decode(Array(bytes.prefix(length)), limits: limits) }
            }
            #expect(throws: DecodingError.trailingBytes(count: 1)) { try MessageCodec.decode(bytes + [0], limits: limits) }
        }
    }

    @Test func hugeLengthPrefixesAreRefusedBeforeAllocating() throws {
        let setup = TestSetup(n: 4, fast: true)
        let limits = try setup.configuration().codecLimits
        // A request whose payload claims 4 GiB.
        var request: [UInt8] = [MessageCodec.version, MessageTag.request.rawValue, 0, 0, 0, 2]
        request += [UInt8](repeating: 0, count: 7) + [1, ClientKind.exchange.rawValue, 0xFF, 0xFF, 0xFF, 0xFF]
        #expect(throws: DecodingError.tooLarge(field: "request.payload", limit: 4096, actual: Int(UInt32.max))) {
            try MessageCodec.decode(request, limits: limits)
        }
        // A pre-prepare whose batch claims 4 billion requests, and one that claims
        // fewer than the limit but more than its bytes could hold.
        let header = setup.sign(PrePrepare(view: 0, sequence: 1, digest: .zero, replica: ReplicaID(0)))
        var writer = ByteWriter()
        writer.u8(MessageCodec.version)
        MessageCodec.encodeSigned(header, into: &writer)
        writer.u64(5)
        var huge = writer
        huge.u32(UInt32.max)
        #expect(throws: DecodingError.tooLarge(field: "batch.count", limit: 4, actual: Int(UInt32.max))) {
            try MessageCodec.decode(huge.bytes, limits: limits)
        }
        var short = writer
        short.u32(3)
        #expect(throws: DecodingError.self) { try MessageCodec.decode(short.bytes + [1, 2, 3], limits: limits) }
        // A reply result above the limit.
        var reply = ByteWriter()
        reply.u8(MessageCodec.version)
        reply.u8(MessageTag.reply.rawValue)
        reply.u64(0)
        reply.u64(0)
        reply.u32(2)
        reply.u64(1)
        reply.u8(ReplyStatus.applied.rawValue)
        reply.u32(1 << 30)
        #expect(throws: DecodingError.tooLarge(field: "reply.result", limit: 4096, actual: 1 << 30)) {
            try MessageCodec.decode(reply.bytes, limits: limits)
        }
    }

    @Test func namesWhatIsWrong() throws {
        let limits = try TestSetup(n: 4, fast: true).configuration().codecLimits
        #expect(throws: DecodingError.unsupportedVersion(9)) { try MessageCodec.decode([9, 1], limits: limits) }
        #expect(throws: DecodingError.unknownTag(99)) { try MessageCodec.decode([1, 99], limits: limits) }
        #expect(throws: DecodingError.unknownTag(MessageTag.commitCertificate.rawValue)) {
            try MessageCodec.decode([1, MessageTag.commitCertificate.rawValue], limits: limits)
        }
        #expect(throws: DecodingError.truncated(field: "version", needed: 1, remaining: 0)) {
            try MessageCodec.decode([], limits: limits)
        }
        var request: [UInt8] = [1, MessageTag.request.rawValue, 0, 0, 0, 2] + [UInt8](repeating: 0, count: 8) + [7]
        request += [0, 0, 0, 0] + [UInt8](repeating: 0, count: 64)
        #expect(throws: DecodingError.invalidValue(field: "request.kind", value: 7)) {
            try MessageCodec.decode(request, limits: limits)
        }
        #expect(DecodingError.invalidValue(field: "request.kind", value: 7).description.contains("request.kind"))
    }

    @Test(arguments: [UInt64(1), 2, 3, 4])
    func randomAndMutatedBytesNeverCrash(seed: UInt64) throws {
        let setup = TestSetup(n: 4, fast: true)
        let limits = try setup.configuration().codecLimits
        var random = SeededRandom(seed: seed)
        let samples = Self.samples(setup).map { MessageCodec.encode($0) }
        var decoded = 0
        for round in 0..<3_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                let count = Int(random.next() % 300)
                bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                if count > 1 && round % 4 == 0 {
                    bytes[0] = MessageCodec.version
                    bytes[1] = UInt8(1 + random.next() % 7)
                }
            } else {
                bytes = samples[Int(random.next() % UInt64(samples.count))]
                for _ in 0..<(1 + random.next() % 4) {
                    let index = Int(random.next() % UInt64(bytes.count))
                    bytes[index] ^= UInt8(truncatingIfNeeded: random.next() | 1)
                }
            }
            if let message = try? MessageCodec.decode(bytes, limits: limits) {
                decoded += 1
                // Whatever decodes re-encodes to the same bytes: one encoding per value.
                #expect(MessageCodec.encode(message) == bytes, "seed \(seed) round \(round)")
            }
        }
        #expect(decoded < 3_000, "seed \(seed)")
    }

    @Test func hostileFramesAreRejectedWithoutStateChange() throws {
        var fixture = try Fixture()
        let before = fixture.replica.footprint
        let actions = fixture.replica.handle(.frame([1, 3, 0, 0], from: .replica(ReplicaID(2)), now: 5))
        #expect(actions.count == 1)
        guard case let .reject(rejection)? = actions.first, case .malformed = rejection.reason else {
            Issue.record("expected a malformed rejection, got \(actions)")
            return
        }
        #expect(fixture.replica.footprint == before)
    }
}
