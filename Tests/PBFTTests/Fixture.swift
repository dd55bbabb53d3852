import Cryptography
import Testing

@testable import PBFT

/// One replica under test, with the other members' signers at hand to forge the
/// exact messages a test needs.
struct Fixture {
    let setup: TestSetup
    let configuration: Configuration
    var replica: Replica
    var now: UInt64 = 1_000

    init(n: Int = 4, id: Int = 1, fast: Bool = true, checkpointInterval: UInt64 = 10, logWindow: UInt64? = nil) throws {
        setup = TestSetup(n: n, fast: fast, checkpointInterval: checkpointInterval, logWindow: logWindow)
        configuration = try setup.configuration()
        replica = Replica(
            configuration: configuration, id: ReplicaID(UInt16(id)), signer: setup.signer(id), verifier: setup.verifier())
    }

    func batch(_ ids: [UInt64], timestamp: UInt64 = 500) -> Batch {
        Batch(timestamp: timestamp, requests: ids.map { setup.request($0) })
    }

    func prePrepare(_ sequence: UInt64, _ batch: Batch, view: UInt64 = 0, from: Int = 0) -> Message {
        .prePrepare(
            setup.sign(PrePrepare(view: view, sequence: sequence, digest: batch.digest, replica: ReplicaID(UInt16(from)))),
            batch)
    }

    func prepare(_ sequence: UInt64, _ digest: SHA256Digest, view: UInt64 = 0, from: Int) -> Message {
        .prepare(setup.sign(Prepare(view: view, sequence: sequence, digest: digest, replica: ReplicaID(UInt16(from)))))
    }

    func commit(_ sequence: UInt64, _ digest: SHA256Digest, view: UInt64 = 0, from: Int) -> Message {
        .commit(setup.sign(Commit(view: view, sequence: sequence, digest: digest, replica: ReplicaID(UInt16(from)))))
    }

    func checkpoint(_ sequence: UInt64, _ root: SHA256Digest, from: Int) -> Message {
        .checkpoint(checkpointBody(sequence, root, from: from))
    }

    func checkpointBody(_ sequence: UInt64, _ root: SHA256Digest, from: Int) -> Signed<Checkpoint> {
        setup.sign(Checkpoint(sequence: sequence, stateRoot: root, replica: ReplicaID(UInt16(from))))
    }

    /// Delivers through the codec, as a shell would.
    mutating func receive(_ message: Message, from: Int) -> [Action] {
        now += 1
        return replica.handle(.frame(MessageCodec.encode(message), from: .replica(ReplicaID(UInt16(from))), now: now))
    }

    mutating func request(_ request: ClientRequest) -> [Action] {
        now += 1
        return replica.handle(.clientRequest(request, now: now))
    }
}
