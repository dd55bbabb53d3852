/// Identifies an order for its whole life; the exchange assigns them, a replay file
/// carries them. Never reused: a new order with a used id is rejected.
public typealias OrderID = UInt64

/// The owner of an order: self-trade prevention compares it, settlement bills it.
public typealias AccountID = UInt64

/// Index of a symbol's book inside one engine, handed out by `addSymbol`.
public typealias SymbolID = UInt32

public enum Side: UInt8, Sendable, Hashable, CustomStringConvertible {
    case buy = 0
    case sell = 1

    public var opposite: Side { self == .buy ? .sell : .buy }
    public var description: String { self == .buy ? "BUY" : "SELL" }
}

public enum TimeInForce: UInt8, Sendable, Hashable, CustomStringConvertible {
    /// Rests until filled or canceled.
    case goodTillCancel = 0
    /// Rests until filled, canceled, or the next end-of-day command.
    case day = 1
    /// Trades what it can at once; the rest expires.
    case immediateOrCancel = 2
    /// Trades its whole quantity at once or nothing at all.
    case fillOrKill = 3

    public var description: String {
        switch self {
        case .goodTillCancel: return "GTC"
        case .day: return "DAY"
        case .immediateOrCancel: return "IOC"
        case .fillOrKill: return "FOK"
        }
    }

    var rests: Bool { self == .goodTillCancel || self == .day }
}

public enum OrderKind: UInt8, Sendable, Hashable {
    case limit = 0
    /// Takes liquidity at any price and never rests.
    case market = 1
}

/// Why the engine refused a command or removed an order. Raw strings are the
/// reason codes of the replay format and of FIX rejects, so they never change.
public enum MatchReason: UInt8, Sendable, Hashable, CustomStringConvertible {
    case none = 0
    case duplicateOrderID
    case unknownOrder
    case invalidQuantity
    case invalidPrice
    case priceNotOnTick
    case quantityNotOnLot
    case outsidePriceBand
    case quantityTooLarge
    case symbolHalted
    case unknownSymbol
    case postOnlyWouldCross
    /// A resting order removed because an order of the same account met it.
    case selfTrade
    /// Removed by a mass cancel of its account.
    case massCancel

    public var description: String { String(describing: csvName) }

    /// The reason code as a static string, for writers on the hot path.
    public var csvName: StaticString {
        switch self {
        case .none: return ""
        case .duplicateOrderID: return "DUPLICATE_ORDER_ID"
        case .unknownOrder: return "UNKNOWN_ORDER"
        case .invalidQuantity: return "INVALID_QUANTITY"
        case .invalidPrice: return "INVALID_PRICE"
        case .priceNotOnTick: return "PRICE_NOT_ON_TICK"
        case .quantityNotOnLot: return "QUANTITY_NOT_ON_LOT"
        case .outsidePriceBand: return "OUTSIDE_PRICE_BAND"
        case .quantityTooLarge: return "QUANTITY_TOO_LARGE"
        case .symbolHalted: return "SYMBOL_HALTED"
        case .unknownSymbol: return "UNKNOWN_SYMBOL"
        case .postOnlyWouldCross: return "POST_ONLY_WOULD_CROSS"
        case .selfTrade: return "SELF_TRADE"
        case .massCancel: return "MASS_CANCEL"
        }
    }
}

/// Trading rules of one symbol. Prices are integer ticks of the currency's minor
/// unit, quantities whole shares; nothing here is floating point.
public struct SymbolConfiguration: Sendable, Hashable {
    public var symbol: String
    /// Prices must be a multiple of this many ticks.
    public var tickSize: Int64
    /// Quantities must be a multiple of this many shares.
    public var lotSize: Int64
    /// Limit prices outside this range are rejected (a static collar); nil: none.
    public var priceBand: ClosedRange<Int64>?
    public var halted: Bool

    public init(symbol: String, tickSize: Int64 = 1, lotSize: Int64 = 1,
                priceBand: ClosedRange<Int64>? = nil, halted: Bool = false) {
        self.symbol = symbol
        self.tickSize = tickSize
        self.lotSize = lotSize
        self.priceBand = priceBand
        self.halted = halted
    }
}

/// A new order as the engine receives it.
public struct NewOrder: Sendable, Hashable {
    public var id: OrderID
    public var account: AccountID
    public var symbol: SymbolID
    public var side: Side
    public var kind: OrderKind
    /// Limit price in ticks; ignored for market orders.
    public var price: Int64
    public var quantity: Int64
    public var timeInForce: TimeInForce
    /// Rejected instead of trading if it would cross on arrival.
    public var postOnly: Bool

    public init(id: OrderID, account: AccountID, symbol: SymbolID, side: Side, kind: OrderKind = .limit,
                price: Int64, quantity: Int64, timeInForce: TimeInForce = .goodTillCancel, postOnly: Bool = false) {
        self.id = id
        self.account = account
        self.symbol = symbol
        self.side = side
        self.kind = kind
        self.price = price
        self.quantity = quantity
        self.timeInForce = timeInForce
        self.postOnly = postOnly
    }

    public static func limit(_ id: OrderID, account: AccountID, symbol: SymbolID, _ side: Side, price: Int64,
                             quantity: Int64, _ tif: TimeInForce = .goodTillCancel) -> NewOrder {
        NewOrder(id: id, account: account, symbol: symbol, side: side, kind: .limit, price: price,
                 quantity: quantity, timeInForce: tif)
    }

    public static func market(_ id: OrderID, account: AccountID, symbol: SymbolID, _ side: Side,
                              quantity: Int64) -> NewOrder {
        NewOrder(id: id, account: account, symbol: symbol, side: side, kind: .market, price: 0,
                 quantity: quantity, timeInForce: .immediateOrCancel)
    }
}

/// One thing that happened in the engine, in the order it happened.
///
/// A flat value (no enum payloads, no strings) so the engine can append millions
/// of them into a reused buffer without allocating.
public struct MatchEvent: Sendable, Hashable {
    public enum Kind: UInt8, Sendable, Hashable, CustomStringConvertible {
        case accepted, rejected, trade, canceled, replaced, expired

        public var description: String { String(describing: csvName) }

        /// The name in the events CSV, as a static string so writing it costs nothing.
        public var csvName: StaticString {
            switch self {
            case .accepted: return "ACCEPTED"
            case .rejected: return "REJECTED"
            case .trade: return "TRADE"
            case .canceled: return "CANCELED"
            case .replaced: return "REPLACED"
            case .expired: return "EXPIRED"
            }
        }
    }

    public var kind: Kind
    /// Side of `orderID` (for a trade: the incoming, aggressing side).
    public var side: Side
    public var reason: MatchReason
    /// False for a market order's acceptance and for rejects that carried no price.
    public var hasPrice: Bool
    public var symbol: SymbolID
    /// For a trade: the incoming (taker) order.
    public var orderID: OrderID
    /// For a trade: the resting (maker) order; otherwise 0.
    public var counterOrderID: OrderID
    /// Owner of `orderID` (0 on a reject of an unknown order).
    public var account: AccountID
    /// For a trade: owner of the resting order.
    public var counterAccount: AccountID
    /// Accepted/replaced: the limit price; trade: the resting price; canceled or
    /// expired: the order's limit price (when it has one).
    public var price: Int64
    /// Accepted: original quantity; trade: filled; canceled/expired: what was
    /// left; replaced: the new remaining quantity; rejected: as requested.
    public var quantity: Int64
    /// What `orderID` still has open after this event (0 when it is done).
    public var leavesQuantity: Int64
    /// For a trade: what the resting order still has open.
    public var counterLeavesQuantity: Int64

    public init(kind: Kind, side: Side, reason: MatchReason = .none, hasPrice: Bool = true, symbol: SymbolID,
                orderID: OrderID, counterOrderID: OrderID = 0, account: AccountID = 0, counterAccount: AccountID = 0,
                price: Int64, quantity: Int64, leavesQuantity: Int64 = 0, counterLeavesQuantity: Int64 = 0) {
        self.kind = kind
        self.side = side
        self.reason = reason
        self.hasPrice = hasPrice
        self.symbol = symbol
        self.orderID = orderID
        self.counterOrderID = counterOrderID
        self.account = account
        self.counterAccount = counterAccount
        self.price = price
        self.quantity = quantity
        self.leavesQuantity = leavesQuantity
        self.counterLeavesQuantity = counterLeavesQuantity
    }
}

/// Best bid and offer of one book; nil sides are empty.
public struct BestBidOffer: Sendable, Hashable {
    public var bidPrice: Int64?
    public var bidQuantity: Int64
    public var askPrice: Int64?
    public var askQuantity: Int64

    public init(bidPrice: Int64?, bidQuantity: Int64, askPrice: Int64?, askQuantity: Int64) {
        self.bidPrice = bidPrice
        self.bidQuantity = bidQuantity
        self.askPrice = askPrice
        self.askQuantity = askQuantity
    }
}

/// One aggregated price level of an L2 snapshot.
public struct DepthLevel: Sendable, Hashable {
    public var price: Int64
    public var quantity: Int64
    public var orderCount: Int

    public init(price: Int64, quantity: Int64, orderCount: Int) {
        self.price = price
        self.quantity = quantity
        self.orderCount = orderCount
    }
}

/// Aggregated depth, best level first on each side.
public struct DepthSnapshot: Sendable, Hashable {
    public var bids: [DepthLevel]
    public var asks: [DepthLevel]
}

/// A resting order as a query returns it.
public struct RestingOrder: Sendable, Hashable {
    public var id: OrderID
    public var account: AccountID
    public var symbol: SymbolID
    public var side: Side
    public var price: Int64
    public var remainingQuantity: Int64
    public var timeInForce: TimeInForce

    public init(id: OrderID, account: AccountID, symbol: SymbolID, side: Side, price: Int64,
                remainingQuantity: Int64, timeInForce: TimeInForce) {
        self.id = id
        self.account = account
        self.symbol = symbol
        self.side = side
        self.price = price
        self.remainingQuantity = remainingQuantity
        self.timeInForce = timeInForce
    }
}
