/// Account identifiers are 32-bit so that (account, asset) packs into one UInt64
/// leaf key of the state tree; four billion accounts is far beyond a private market.
public typealias AccountID = UInt32
/// Security identifiers start at 1: asset 0 in a leaf key means "cash".
public typealias SecurityID = UInt32

/// Timestamps are microseconds since the Unix epoch, UTC, always carried in with
/// the input (the block's timestamp), never read from a clock.
public typealias Timestamp = Int64

public struct Account: Equatable, Sendable {
    public var id: AccountID
    public var name: String
    /// The clearing member that carries this account.
    public var member: UInt32
    /// May hold securities restricted to eligible holders (accredited investors).
    public var eligible: Bool
    /// A frozen account can neither send nor receive shares or cash.
    public var frozen: Bool

    public init(id: AccountID, name: String, member: UInt32, eligible: Bool = false, frozen: Bool = false) {
        self.id = id
        self.name = name
        self.member = member
        self.eligible = eligible
        self.frozen = frozen
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

extension Account {
    func encode(into w: inout ByteWriter) {
        w.u32(id); w.string(name); w.u32(member); w.bool(eligible); w.bool(frozen)
    }

    static func decode(from r: inout ByteReader) throws(DecodeError) -> Account {
        Account(id: try r.u32("account.id"), name: try r.string("account.name"), member: try r.u32("account.member"),
                eligible: try r.bool("account.eligible"), frozen: try r.bool("account.frozen"))
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
