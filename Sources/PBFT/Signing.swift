import Cryptography

/// Signs with this replica's member key. Injected so that tests and the simulator
/// can swap in a cheap deterministic scheme for large sweeps.
public protocol MessageSigner: Sendable {
    /// A signature over `message`. A signer that cannot sign has lost its key or its
    /// memory; it must stop the process rather than return something unsigned.
    func signature(for message: [UInt8]) -> [UInt8]
}

/// Checks signatures by member and client keys. The replica calls it at most once
/// per received message (and once per client request), and never for its own.
public protocol SignatureVerifier: Sendable {
    func isValidSignature(_ signature: [UInt8], for message: [UInt8], by key: Ed25519PublicKey) -> Bool
}

public struct Ed25519MessageSigner: MessageSigner {
    public let key: Ed25519PrivateKey
    public init(key: Ed25519PrivateKey) { self.key = key }

    public func signature(for message: [UInt8]) -> [UInt8] {
        do {
            return try key.signature(for: message)
        } catch {
            // Only an OpenSSL allocation failure reaches here; a replica that cannot
            // sign cannot take part, and restarting from durable state is safe.
            preconditionFailure("Ed25519 signing failed: \(error)")
        }
    }
}

public struct Ed25519SignatureVerifier: SignatureVerifier {
    public init() {}
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8], by key: Ed25519PublicKey) -> Bool {
        key.isValidSignature(signature, for: message)
    }
}

extension MessageSigner {
    func sign<Body: SignedBody>(_ body: Body) -> Signed<Body> {
        Signed(body: body, signature: signature(for: MessageCodec.signingBytes(body)))
    }
}

extension SignatureVerifier {
    func verify<Body: SignedBody>(_ signed: Signed<Body>, in configuration: Configuration) -> Bool {
        guard let key = configuration.key(of: signed.body.replica) else { return false }
        return isValidSignature(signed.signature, for: MessageCodec.signingBytes(signed.body), by: key)
    }

    func verify(_ request: ClientRequest, key: Ed25519PublicKey) -> Bool {
        isValidSignature(request.signature, for: MessageCodec.signingBytes(request), by: key)
    }
}

extension ClientRequest {
    /// Signs with a client key; for clients (the exchange, the admin CLI) and tests.
    public func signed(by key: Ed25519PrivateKey) throws(CryptographyError) -> ClientRequest {
        var copy = self
        copy.signature = try key.signature(for: MessageCodec.signingBytes(self))
        return copy
    }
}
