/// Why a transaction or a trade did not apply. The raw value is the stable code
/// written into receipts; never renumber a case.
public enum FailureReason: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    case badSignature = 1
    case unknownSigner = 2
    case notAuthorized = 3
    case staleNonce = 4
    case invalidField = 5
    case accountExists = 10
    case unknownAccount = 11
    case accountFrozen = 12
    case securityExists = 20
    case symbolExists = 21
    case unknownSecurity = 22
    case securityHalted = 23
    case exceedsAuthorized = 30
    case insufficientShares = 31
    case insufficientCash = 32
    case overflow = 33
    case notEligible = 40
    case lockedUp = 41
    case notLotMultiple = 42
    case sameAccount = 43
    case alreadySettled = 50
    case alreadyHalted = 51
    case notHalted = 52

    public var description: String {
        switch self {
        case .badSignature: return "signature does not verify"
        case .unknownSigner: return "signer is not a key named in genesis"
        case .notAuthorized: return "signer's role may not submit this transaction"
        case .staleNonce: return "nonce not above the signer's last nonce"
        case .invalidField: return "invalid value"
        case .accountExists: return "account already exists"
        case .unknownAccount: return "unknown account"
        case .accountFrozen: return "account is frozen"
        case .securityExists: return "security id already exists"
        case .symbolExists: return "symbol already exists"
        case .unknownSecurity: return "unknown security"
        case .securityHalted: return "security is halted"
        case .exceedsAuthorized: return "exceeds authorized shares"
        case .insufficientShares: return "insufficient shares"
        case .insufficientCash: return "insufficient cash"
        case .overflow: return "arithmetic overflow"
        case .notEligible: return "restricted security: receiving account is not eligible"
        case .lockedUp: return "restricted security: locked up"
        case .notLotMultiple: return "not a multiple of the lot size"
        case .sameAccount: return "buyer and seller are the same account"
        case .alreadySettled: return "trade id already settled"
        case .alreadyHalted: return "security is already halted"
        case .notHalted: return "security is not halted"
        }
    }
}

/// A failure with the field and value it concerns, so that every error a user sees
/// is one line naming both.
public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
    public var reason: FailureReason
    public var field: String
    public var value: String

    public init(_ reason: FailureReason, field: String, value: String) {
        self.reason = reason
        self.field = field
        self.value = value
    }

    public init<V: BinaryInteger>(_ reason: FailureReason, field: String, _ value: V) {
        self.init(reason, field: field, value: String(value))
    }

    public var description: String { "\(field)=\(value): \(reason)" }

    func encode(into w: inout ByteWriter) {
        w.u16(reason.rawValue); w.string(field); w.string(value)
    }

    static func decode(from r: inout ByteReader) throws(DecodeError) -> Failure {
        let code = try r.u16("failure.reason")
        guard let reason = FailureReason(rawValue: code) else {
            throw DecodeError(field: "failure.reason", reason: "unknown code \(code)")
        }
        return Failure(reason, field: try r.string("failure.field"), value: try r.string("failure.value"))
    }
}
