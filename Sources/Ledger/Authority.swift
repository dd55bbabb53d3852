import Cryptography

/// Who may sign what, as the genesis file names it. Keys are parsed once here so
/// that checking a transaction costs one dictionary lookup and one verify.
public struct Authority: Sendable {
    public enum Role: Sendable, Equatable {
        case admin
        case exchange
    }

    public let adminKeys: [Ed25519PublicKey]
    public let exchangeKey: Ed25519PublicKey
    private let byRaw: [[UInt8]: (role: Role, key: Ed25519PublicKey)]

    public init(adminKeys: [Ed25519PublicKey], exchangeKey: Ed25519PublicKey) {
        self.adminKeys = adminKeys
        self.exchangeKey = exchangeKey
        var byRaw: [[UInt8]: (role: Role, key: Ed25519PublicKey)] = [:]
        for key in adminKeys { byRaw[key.rawRepresentation] = (.admin, key) }
        byRaw[exchangeKey.rawRepresentation] = (.exchange, exchangeKey)
        self.byRaw = byRaw
    }

    func lookup(_ raw: [UInt8]) -> (role: Role, key: Ed25519PublicKey)? { byRaw[raw] }
}
