import Cryptography

/// Identifies an endpoint of the consortium's network: members 0..<n, then the
/// clients (admin tools, the exchange) that the genesis file names.
public typealias NodeID = UInt32

/// Mutual authentication of a fresh connection, as a pure state machine.
///
/// Both ends send HELLO (protocol version, cluster id, their node id, a fresh
/// nonce) at once; on the peer's HELLO each answers with PROOF: an Ed25519
/// signature over the cluster id, both nonces and both ids, which the other end
/// checks against the key its directory holds for that id. A replayed PROOF fails
/// because the nonces are new each time; a connection to the wrong cluster fails
/// because the cluster id (the genesis hash) is signed. Consensus messages are
/// signed on their own as well: this only decides who may hold a connection.
struct Handshake {
    static let version: UInt8 = 1
    static let helloTag: UInt8 = 0x01
    static let proofTag: UInt8 = 0x02
    static let context = Array("clearledger-handshake-v1".utf8)
    static let helloSize = 1 + 1 + 32 + 4 + 32
    static let proofSize = 1 + 64

    enum Failure: Error, Equatable, CustomStringConvertible {
        case malformed(String)
        case wrongCluster
        case unknownNode(NodeID)
        case unexpectedNode(expected: NodeID, actual: NodeID)
        case notAllowed(NodeID)
        case badSignature(NodeID)
        case unsupportedVersion(UInt8)

        var description: String {
            switch self {
            case let .malformed(what): return "handshake: malformed \(what)"
            case .wrongCluster: return "handshake: peer belongs to another cluster (genesis hash differs)"
            case let .unknownNode(id): return "handshake: node \(id) is not in the directory"
            case let .unexpectedNode(expected, actual): return "handshake: dialed node \(expected) but node \(actual) answered"
            case let .notAllowed(id): return "handshake: node \(id) may not connect here"
            case let .badSignature(id): return "handshake: node \(id) failed to prove its key"
            case let .unsupportedVersion(v): return "handshake: unsupported version \(v)"
            }
        }
    }

    enum Output: Equatable {
        case send([UInt8])
        case established(NodeID)
    }

    let clusterID: SHA256Digest
    let localID: NodeID
    let localNonce: [UInt8]
    /// The id this end dialed, when it dialed; nil on the accepting side.
    let expectedPeer: NodeID?
    private var peer: (id: NodeID, nonce: [UInt8])?
    private var sentProof = false
    private(set) var established = false

    init(clusterID: SHA256Digest, localID: NodeID, nonce: [UInt8], expectedPeer: NodeID?) {
        self.clusterID = clusterID
        self.localID = localID
        self.localNonce = nonce
        self.expectedPeer = expectedPeer
    }

    func hello() -> [UInt8] {
        var bytes: [UInt8] = [Self.helloTag, Self.version]
        bytes += clusterID.bytes
        bytes += withUnsafeBytes(of: localID.bigEndian) { Array($0) }
        bytes += localNonce
        return bytes
    }

    /// The bytes a node signs to prove its key to `verifierNonce`'s owner.
    static func transcript(cluster: SHA256Digest, signerID: NodeID, signerNonce: [UInt8], verifierID: NodeID,
                           verifierNonce: [UInt8]) -> [UInt8] {
        var bytes = context
        bytes += cluster.bytes
        bytes += withUnsafeBytes(of: signerID.bigEndian) { Array($0) }
        bytes += signerNonce
        bytes += withUnsafeBytes(of: verifierID.bigEndian) { Array($0) }
        bytes += verifierNonce
        return bytes
    }

    /// Feeds one frame from the peer. `directory` maps ids to keys; `allowed`
    /// says which ids may connect to this end.
    mutating func receive(_ frame: [UInt8], signer: Ed25519PrivateKey, directory: [NodeID: Ed25519PublicKey],
                          allowed: (NodeID) -> Bool) throws(Failure) -> [Output] {
        guard let tag = frame.first else { throw .malformed("empty frame") }
        switch tag {
        case Self.helloTag:
            guard peer == nil else { throw .malformed("second HELLO") }
            guard frame.count == Self.helloSize else { throw .malformed("HELLO of \(frame.count) bytes") }
            guard frame[1] == Self.version else { throw .unsupportedVersion(frame[1]) }
            let cluster: SHA256Digest
            do { cluster = try SHA256Digest(bytes: frame[2..<34]) } catch { throw .malformed("cluster id") }
            guard cluster == clusterID else { throw .wrongCluster }
            let id = frame[34..<38].reduce(NodeID(0)) { $0 << 8 | NodeID($1) }
            guard directory[id] != nil else { throw .unknownNode(id) }
            if let expectedPeer, expectedPeer != id { throw .unexpectedNode(expected: expectedPeer, actual: id) }
            guard expectedPeer != nil || allowed(id) else { throw .notAllowed(id) }
            guard id != localID else { throw .malformed("HELLO from our own id \(id)") }
            let nonce = Array(frame[38..<70])
            peer = (id, nonce)
            let message = Self.transcript(cluster: clusterID, signerID: localID, signerNonce: localNonce,
                                          verifierID: id, verifierNonce: nonce)
            let signature: [UInt8]
            do { signature = try signer.signature(for: message) } catch { throw .malformed("local signing failed") }
            sentProof = true
            return [.send([Self.proofTag] + signature)]
        case Self.proofTag:
            guard let peer, sentProof, !established else { throw .malformed("PROOF before HELLO") }
            guard frame.count == Self.proofSize else { throw .malformed("PROOF of \(frame.count) bytes") }
            guard let key = directory[peer.id] else { throw .unknownNode(peer.id) }
            let message = Self.transcript(cluster: clusterID, signerID: peer.id, signerNonce: peer.nonce,
                                          verifierID: localID, verifierNonce: localNonce)
            guard key.isValidSignature(Array(frame[1...]), for: message) else { throw .badSignature(peer.id) }
            established = true
            return [.established(peer.id)]
        default:
            throw .malformed("frame tag \(tag) during handshake")
        }
    }
}
