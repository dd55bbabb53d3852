import Cryptography
@testable import Network
import Testing

@Suite("Handshake")
struct HandshakeTests {
    let cluster = SHA256.hash(Array("genesis".utf8))
    let keys: [NodeID: Ed25519PrivateKey]
    let directory: [NodeID: Ed25519PublicKey]

    init() throws {
        var keys: [NodeID: Ed25519PrivateKey] = [:]
        for id in NodeID(0)..<3 { keys[id] = try Ed25519PrivateKey(seed: [UInt8](repeating: UInt8(id + 1), count: 32)) }
        self.keys = keys
        directory = keys.mapValues(\.publicKey)
    }

    /// Runs both sides to completion; returns what each side concluded.
    func run(dialer: NodeID, dialerKey: Ed25519PrivateKey, acceptor: NodeID, expected: NodeID,
             dialerCluster: SHA256Digest? = nil) -> (Result<NodeID, Handshake.Failure>, Result<NodeID, Handshake.Failure>) {
        var a = Handshake(clusterID: dialerCluster ?? cluster, localID: dialer,
                          nonce: [UInt8](repeating: 7, count: 32), expectedPeer: expected)
        var b = Handshake(clusterID: cluster, localID: acceptor, nonce: [UInt8](repeating: 9, count: 32),
                          expectedPeer: nil)
        var toA = [b.hello()]
        var toB = [a.hello()]
        var resultA: Result<NodeID, Handshake.Failure>?
        var resultB: Result<NodeID, Handshake.Failure>?
        while resultA == nil || resultB == nil {
            // A side that has concluded reads nothing more.
            if resultA != nil { toA.removeAll() }
            if resultB != nil { toB.removeAll() }
            if toA.isEmpty && toB.isEmpty { break }
            if resultB == nil, !toB.isEmpty {
                let frame = toB.removeFirst()
                do {
                    for output in try b.receive(frame, signer: keys[acceptor]!, directory: directory, allowed: { _ in true }) {
                        switch output {
                        case .send(let bytes): toA.append(bytes)
                        case .established(let id): resultB = .success(id)
                        }
                    }
                } catch { resultB = .failure(error) }
            }
            if resultA == nil, !toA.isEmpty {
                let frame = toA.removeFirst()
                do {
                    for output in try a.receive(frame, signer: dialerKey, directory: directory, allowed: { _ in true }) {
                        switch output {
                        case .send(let bytes): toB.append(bytes)
                        case .established(let id): resultA = .success(id)
                        }
                    }
                } catch { resultA = .failure(error) }
            }
        }
        return (resultA ?? .failure(.malformed("no result")), resultB ?? .failure(.malformed("no result")))
    }

    @Test func bothSidesLearnWhoTheOtherIs() {
        let (a, b) = run(dialer: 0, dialerKey: keys[0]!, acceptor: 1, expected: 1)
        #expect(a == .success(1))
        #expect(b == .success(0))
    }

    @Test func aNodeWithoutItsKeyCannotClaimItsID() {
        let impostor = keys[2]!
        let (_, b) = run(dialer: 0, dialerKey: impostor, acceptor: 1, expected: 1)
        #expect(b == .failure(.badSignature(0)))
    }

    @Test func anotherClusterIsRefused() {
        let (_, b) = run(dialer: 0, dialerKey: keys[0]!, acceptor: 1, expected: 1,
                         dialerCluster: SHA256.hash(Array("other".utf8)))
        #expect(b == .failure(.wrongCluster))
    }

    @Test func theDialerNoticesItReachedTheWrongNode() {
        let (a, _) = run(dialer: 0, dialerKey: keys[0]!, acceptor: 2, expected: 1)
        #expect(a == .failure(.unexpectedNode(expected: 1, actual: 2)))
    }

    @Test func hostileFramesFailWithoutCrashing() throws {
        var h = Handshake(clusterID: cluster, localID: 1, nonce: [UInt8](repeating: 1, count: 32), expectedPeer: nil)
        let key = keys[1]!
        var rng = SystemRandomNumberGenerator()
        for length in [0, 1, 2, 33, 69, 70, 71, 65, 1000] {
            let frame = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            #expect(throws: Handshake.Failure.self) {
                _ = try h.receive(frame, signer: key, directory: directory, allowed: { _ in true })
            }
        }
        // PROOF before HELLO, unknown node, a node not allowed here.
        #expect(throws: Handshake.Failure.malformed("PROOF before HELLO")) {
            _ = try h.receive([0x02] + [UInt8](repeating: 0, count: 64), signer: key, directory: directory,
                              allowed: { _ in true })
        }
        var hello = Handshake(clusterID: cluster, localID: 99, nonce: [UInt8](repeating: 3, count: 32),
                              expectedPeer: nil).hello()
        #expect(throws: Handshake.Failure.unknownNode(99)) {
            _ = try h.receive(hello, signer: key, directory: directory, allowed: { _ in true })
        }
        hello = Handshake(clusterID: cluster, localID: 2, nonce: [UInt8](repeating: 3, count: 32),
                          expectedPeer: nil).hello()
        #expect(throws: Handshake.Failure.notAllowed(2)) {
            _ = try h.receive(hello, signer: key, directory: directory, allowed: { $0 != 2 })
        }
    }
}
