/// A security as a transfer agent records it.
///
/// Money: a trade's cash amount is `shares × price × cashPerTick` minor units. The
/// design fixes a tick at 0.01 of the currency, which with cents as minor units
/// makes `cashPerTick` 1; a security quoted in coarser ticks says so here.
public struct Security: Equatable, Sendable {
    public var id: SecurityID
    public var symbol: String
    public var name: String
    public var issuer: AccountID
    public var shareClass: String
    public var authorized: Int64
    public var issued: Int64
    public var cashPerTick: Int64
    public var lotSize: Int64
    public var restriction: TransferRestriction
    public var halted: Bool

    public init(id: SecurityID, symbol: String, name: String, issuer: AccountID, shareClass: String = "common",
                authorized: Int64, issued: Int64 = 0, cashPerTick: Int64 = 1, lotSize: Int64 = 1,
                restriction: TransferRestriction = .none, halted: Bool = false) {
        self.id = id
        self.symbol = symbol
        self.name = name
        self.issuer = issuer
        self.shareClass = shareClass
        self.authorized = authorized
        self.issued = issued
        self.cashPerTick = cashPerTick
        self.lotSize = lotSize
        self.restriction = restriction
        self.halted = halted
    }
}

public enum TransferRestriction: Equatable, Sendable, CustomStringConvertible {
    case none
    /// Only accounts flagged `eligible` may receive the security.
    case eligibleHoldersOnly
    /// No transfer or trade settles before the block timestamp reaches `until`.
    case lockUp(until: Timestamp)

    public var description: String {
        switch self {
        case .none: return "none"
        case .eligibleHoldersOnly: return "eligible-only"
        case let .lockUp(until): return "lock-up until \(until)"
        }
    }
}

extension Security {
    func encode(into w: inout ByteWriter) {
        w.u32(id); w.string(symbol); w.string(name); w.u32(issuer); w.string(shareClass)
        w.i64(authorized); w.i64(issued); w.i64(cashPerTick); w.i64(lotSize)
        restriction.encode(into: &w); w.bool(halted)
    }

    static func decode(from r: inout ByteReader) throws(DecodeError) -> Security {
        Security(id: try r.u32("security.id"), symbol: try r.string("security.symbol"), name: try r.string("security.name"),
                 issuer: try r.u32("security.issuer"), shareClass: try r.string("security.shareClass"),
                 authorized: try r.i64("security.authorized"), issued: try r.i64("security.issued"),
                 cashPerTick: try r.i64("security.cashPerTick"), lotSize: try r.i64("security.lotSize"),
                 restriction: try TransferRestriction.decode(from: &r), halted: try r.bool("security.halted"))
    }
}

extension TransferRestriction {
    func encode(into w: inout ByteWriter) {
        switch self {
        case .none: w.u8(0)
        case .eligibleHoldersOnly: w.u8(1)
        case let .lockUp(until): w.u8(2); w.i64(until)
        }
    }

    static func decode(from r: inout ByteReader) throws(DecodeError) -> TransferRestriction {
        switch try r.u8("security.restriction") {
        case 0: return .none
        case 1: return .eligibleHoldersOnly
        case 2: return .lockUp(until: try r.i64("security.restriction.until"))
        case let tag: throw DecodeError(field: "security.restriction", reason: "unknown tag \(tag)")
        }
    }
}
