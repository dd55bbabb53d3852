import Matching

/// What an account can hold: cash or shares of one security.
public enum Asset: Hashable, Sendable, CustomStringConvertible {
    case cash
    case security(UInt32)

    public var description: String {
        switch self {
        case .cash: return "cash"
        case let .security(id): return "security \(id)"
        }
    }
}

/// Why the risk view refused an order; names the field and the numbers.
public enum RiskError: Error, Equatable, Sendable, CustomStringConvertible {
    case insufficient(account: AccountID, asset: Asset, needed: Int64, available: Int64)
    case overflow(field: String)
    case unknownOrder(OrderID)
    case duplicateOrder(OrderID)
    case invalid(field: String, value: Int64)

    public var description: String {
        switch self {
        case let .insufficient(account, asset, needed, available):
            return "account \(account): \(asset) needed \(needed), available \(available)"
        case let .overflow(field): return "\(field): amount overflows 64 bits"
        case let .unknownOrder(id): return "order \(id): no reservation"
        case let .duplicateOrder(id): return "order \(id): already has a reservation"
        case let .invalid(field, value): return "\(field): invalid value \(value)"
        }
    }
}

/// The exchange's view of what each account may still commit: the finalized
/// ledger balance, minus what resting orders reserve, minus what matched trades
/// will take when their block settles.
///
/// A sell reserves its shares; a buy reserves quantity × limit price × cash per
/// tick. A fill turns the filled part of the reservation into an obligation of the
/// trade (at the trade price, so a buy filled below its limit gets the difference
/// back at once). When the trade's block is final the obligation either becomes a
/// ledger movement (settled) or disappears (failed). Proceeds of unsettled trades
/// are not spendable: the view never lets an order rely on money or shares the
/// ledger does not yet hold. Pure and deterministic, like the engine it guards.
public struct RiskView: Sendable {
    private struct Reservation: Sendable {
        var account: AccountID
        var asset: Asset
        /// Amount reserved per unit of quantity (1 for shares; limit × cash per tick for cash).
        var perUnit: Int64
        var quantity: Int64
    }

    private struct Key: Hashable, Sendable {
        var account: AccountID
        var asset: Asset
    }

    private var ledger: [Key: Int64] = [:]
    private var reserved: [Key: Int64] = [:]
    private var obligated: [Key: Int64] = [:]
    private var reservations: [OrderID: Reservation] = [:]

    public init() {}

    /// Sets an account's finalized ledger balance (at start, from the ledger).
    public mutating func setLedgerBalance(_ amount: Int64, account: AccountID, asset: Asset) {
        ledger[Key(account: account, asset: asset)] = amount
    }

    public func ledgerBalance(account: AccountID, asset: Asset) -> Int64 {
        ledger[Key(account: account, asset: asset), default: 0]
    }

    /// What a new order of `account` may still commit of `asset`.
    public func available(account: AccountID, asset: Asset) -> Int64 {
        let key = Key(account: account, asset: asset)
        return ledger[key, default: 0] - reserved[key, default: 0] - obligated[key, default: 0]
    }

    /// Reserves for a new resting or incoming limit order; nothing changes on error.
    public mutating func reserve(order: OrderID, account: AccountID, side: Side, security: UInt32, price: Int64,
                                 quantity: Int64, cashPerTick: Int64 = 1) throws(RiskError) {
        guard reservations[order] == nil else { throw .duplicateOrder(order) }
        guard quantity > 0 else { throw .invalid(field: "quantity", value: quantity) }
        let reservation: Reservation
        if side == .sell {
            reservation = Reservation(account: account, asset: .security(security), perUnit: 1, quantity: quantity)
        } else {
            guard price > 0 else { throw .invalid(field: "price", value: price) }
            guard cashPerTick > 0 else { throw .invalid(field: "cashPerTick", value: cashPerTick) }
            let (perUnit, overflow) = price.multipliedReportingOverflow(by: cashPerTick)
            guard !overflow else { throw .overflow(field: "price × cashPerTick") }
            reservation = Reservation(account: account, asset: .cash, perUnit: perUnit, quantity: quantity)
        }
        let amount = try Self.product(reservation.perUnit, quantity, field: "reservation")
        let have = available(account: account, asset: reservation.asset)
        guard amount <= have else {
            throw .insufficient(account: account, asset: reservation.asset, needed: amount, available: have)
        }
        reserved[Key(account: account, asset: reservation.asset), default: 0] += amount
        reservations[order] = reservation
    }

    /// A fill of `quantity` at `price`: that part of the reservation becomes the
    /// trade's obligation (what it will move when it settles); a buy's price
    /// improvement is released.
    public mutating func fill(order: OrderID, quantity: Int64, price: Int64, cashPerTick: Int64 = 1) throws(RiskError) {
        guard var reservation = reservations[order] else { throw .unknownOrder(order) }
        guard quantity > 0, quantity <= reservation.quantity else {
            throw .invalid(field: "fill quantity", value: quantity)
        }
        let key = Key(account: reservation.account, asset: reservation.asset)
        let released = try Self.product(reservation.perUnit, quantity, field: "fill")
        let obligation: Int64
        if reservation.asset == .cash {
            let (perUnit, overflow) = price.multipliedReportingOverflow(by: cashPerTick)
            guard !overflow else { throw .overflow(field: "trade price × cashPerTick") }
            obligation = try Self.product(perUnit, quantity, field: "trade amount")
            guard obligation <= released else { throw .invalid(field: "trade price above limit", value: price) }
        } else {
            obligation = quantity
        }
        reserved[key, default: 0] -= released
        obligated[key, default: 0] += obligation
        reservation.quantity -= quantity
        reservations[order] = reservation.quantity == 0 ? nil : reservation
    }

    /// The order is gone (canceled, expired, rejected after reserving): its
    /// remaining reservation is released.
    public mutating func release(order: OrderID) {
        guard let reservation = reservations.removeValue(forKey: order) else { return }
        let key = Key(account: reservation.account, asset: reservation.asset)
        reserved[key, default: 0] -= reservation.perUnit * reservation.quantity
    }

    /// A replace to a new price and remaining quantity; refused (nothing changes)
    /// when the account cannot cover the new reservation.
    public mutating func replace(order: OrderID, price: Int64, quantity: Int64,
                                 cashPerTick: Int64 = 1) throws(RiskError) {
        guard let old = reservations[order] else { throw .unknownOrder(order) }
        guard quantity > 0 else { throw .invalid(field: "quantity", value: quantity) }
        var new = old
        new.quantity = quantity
        if old.asset == .cash {
            guard price > 0 else { throw .invalid(field: "price", value: price) }
            let (perUnit, overflow) = price.multipliedReportingOverflow(by: cashPerTick)
            guard !overflow else { throw .overflow(field: "price × cashPerTick") }
            new.perUnit = perUnit
        }
        let oldAmount = old.perUnit * old.quantity
        let newAmount = try Self.product(new.perUnit, quantity, field: "reservation")
        let have = available(account: old.account, asset: old.asset) + oldAmount
        guard newAmount <= have else {
            throw .insufficient(account: old.account, asset: old.asset, needed: newAmount, available: have)
        }
        reserved[Key(account: old.account, asset: old.asset), default: 0] += newAmount - oldAmount
        reservations[order] = new
    }

    /// The trade's block is final. Settled: shares and cash move on the ledger
    /// view; failed: nothing moves. Either way the obligations are cleared.
    public mutating func finalize(buyer: AccountID, seller: AccountID, security: UInt32, quantity: Int64,
                                  price: Int64, cashPerTick: Int64 = 1, settled: Bool) throws(RiskError) {
        let (perUnit, overflow) = price.multipliedReportingOverflow(by: cashPerTick)
        guard !overflow else { throw .overflow(field: "trade price × cashPerTick") }
        let amount = try Self.product(perUnit, quantity, field: "trade amount")
        let buyerCash = Key(account: buyer, asset: .cash)
        let sellerShares = Key(account: seller, asset: .security(security))
        obligated[buyerCash, default: 0] -= amount
        obligated[sellerShares, default: 0] -= quantity
        guard settled else { return }
        ledger[buyerCash, default: 0] -= amount
        ledger[Key(account: seller, asset: .cash), default: 0] += amount
        ledger[sellerShares, default: 0] -= quantity
        ledger[Key(account: buyer, asset: .security(security)), default: 0] += quantity
    }

    /// Orders holding a reservation.
    public var reservedOrderCount: Int { reservations.count }

    /// Amount `order` still reserves, if any.
    public func reservation(of order: OrderID) -> (asset: Asset, amount: Int64)? {
        reservations[order].map { ($0.asset, $0.perUnit * $0.quantity) }
    }

    private static func product(_ a: Int64, _ b: Int64, field: String) throws(RiskError) -> Int64 {
        let (value, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else { throw .overflow(field: field) }
        return value
    }
}
