import Matching

/// A security as the exchange lists it: the engine's trading rules plus the
/// ledger's id and how much cash one tick of price is worth.
public struct ListedSecurity: Sendable, Hashable {
    public var securityID: UInt32
    public var configuration: SymbolConfiguration
    public var cashPerTick: Int64

    public init(securityID: UInt32, configuration: SymbolConfiguration, cashPerTick: Int64 = 1) {
        self.securityID = securityID
        self.configuration = configuration
        self.cashPerTick = cashPerTick
    }
}

/// Identifies a client order the way FIX does: the session and its ClOrdID.
public struct ClientOrderKey: Hashable, Sendable {
    public var session: String
    public var clOrdID: String
    public init(session: String, clOrdID: String) {
        self.session = session
        self.clOrdID = clOrdID
    }
}

/// What a participant asks for, already authenticated and authorized for the
/// account by the gateway.
public enum ExchangeCommand: Sendable {
    case newOrder(key: ClientOrderKey, account: AccountID, symbol: String, side: Side, kind: OrderKind, price: Int64,
                  quantity: Int64, timeInForce: TimeInForce, postOnly: Bool = false)
    case cancel(key: ClientOrderKey, original: ClientOrderKey)
    case replace(key: ClientOrderKey, original: ClientOrderKey, price: Int64, quantity: Int64)
    case endOfDay
}

/// One matched trade, as the ledger settles it.
public struct Trade: Sendable, Hashable {
    public var tradeID: UInt64
    public var securityID: UInt32
    public var buyer: AccountID
    public var seller: AccountID
    public var quantity: Int64
    public var price: Int64
    public var buyOrder: OrderID
    public var sellOrder: OrderID
    public var cashPerTick: Int64
}

/// What the sequencer tells sessions and the settlement path, in order.
public enum ExchangeOutput: Sendable, Equatable {
    /// An order's new state for its session (an ExecutionReport).
    case report(OrderReport)
    /// A cancel or replace that could not be done (an OrderCancelReject).
    case cancelRejected(key: ClientOrderKey, original: ClientOrderKey, reason: String)
    /// Trades ready to be signed and submitted for settlement.
    case settlementBatch([Trade])
}

public struct OrderReport: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case new, trade, canceled, replaced, expired
        case rejected(String)
    }

    public var kind: Kind
    public var key: ClientOrderKey
    /// For replaces and cancels: the ClOrdID it replaced.
    public var original: ClientOrderKey?
    public var orderID: OrderID
    public var symbol: String
    public var side: Side
    public var lastQuantity: Int64
    public var lastPrice: Int64
    public var leavesQuantity: Int64
    public var cumulativeQuantity: Int64
    /// Σ fill quantity × price, so AvgPx = notional / cumulative, exactly.
    public var notional: Int64
    public var tradeID: UInt64?
}

/// The exchange's single-threaded core: risk checks, the matching engine, order
/// bookkeeping per FIX session, and batching of trades for settlement. Pure and
/// deterministic: the shell (gateway + journal + PBFT client) feeds it commands in
/// journal order and carries out its outputs; replaying the journal rebuilds it.
public final class Sequencer {
    private struct OrderState {
        var key: ClientOrderKey
        var account: AccountID
        var symbol: SymbolID
        var side: Side
        var cumulative: Int64 = 0
        var notional: Int64 = 0
    }

    public let engine: MatchingEngine
    public private(set) var risk: RiskView
    private let listings: [ListedSecurity]
    private var orders: [OrderID: OrderState] = [:]
    private var live: [ClientOrderKey: OrderID] = [:]
    private var usedKeys: Set<ClientOrderKey> = []
    private var nextOrderID: OrderID = 1
    private var nextTradeID: UInt64 = 1
    private var pendingTrades: [Trade] = []
    public let batchSize: Int

    public init(listings: [ListedSecurity], risk: RiskView, batchSize: Int = 5_000) throws {
        engine = MatchingEngine()
        for listing in listings { _ = try engine.addSymbol(listing.configuration) }
        self.listings = listings
        self.risk = risk
        self.batchSize = max(1, batchSize)
    }

    /// Trades matched but not yet handed out in a batch.
    public var pendingTradeCount: Int { pendingTrades.count }

    /// Hands out whatever trades are waiting (the shell's batch timer).
    public func flush() -> ExchangeOutput? {
        guard !pendingTrades.isEmpty else { return nil }
        defer { pendingTrades.removeAll(keepingCapacity: true) }
        return .settlementBatch(pendingTrades)
    }

    /// The ledger finalized a trade: update the risk view.
    public func settled(_ trade: Trade, success: Bool) throws {
        try risk.finalize(buyer: trade.buyer, seller: trade.seller, security: trade.securityID,
                          quantity: trade.quantity, price: trade.price, cashPerTick: trade.cashPerTick,
                          settled: success)
    }

    public func handle(_ command: ExchangeCommand) -> [ExchangeOutput] {
        var outputs: [ExchangeOutput] = []
        switch command {
        case let .newOrder(key, account, symbol, side, kind, price, quantity, timeInForce, postOnly):
            newOrder(key: key, account: account, symbol: symbol, side: side, kind: kind, price: price,
                     quantity: quantity, timeInForce: timeInForce, postOnly: postOnly, into: &outputs)
        case let .cancel(key, original):
            guard usedKeys.insert(key).inserted else {
                outputs.append(.cancelRejected(key: key, original: original, reason: "duplicate ClOrdID"))
                break
            }
            guard let id = live[original] else {
                outputs.append(.cancelRejected(key: key, original: original, reason: "unknown order"))
                break
            }
            engine.cancel(id)
            drainEvents(into: &outputs, requestKey: key, original: original)
        case let .replace(key, original, price, quantity):
            guard usedKeys.insert(key).inserted else {
                outputs.append(.cancelRejected(key: key, original: original, reason: "duplicate ClOrdID"))
                break
            }
            guard let id = live[original], let state = orders[id] else {
                outputs.append(.cancelRejected(key: key, original: original, reason: "unknown order"))
                break
            }
            let listing = listings[Int(state.symbol)]
            do {
                try risk.replace(order: id, price: price, quantity: quantity, cashPerTick: listing.cashPerTick)
            } catch {
                outputs.append(.cancelRejected(key: key, original: original, reason: "\(error)"))
                break
            }
            engine.replace(id, price: price, quantity: quantity)
            if let rejected = engine.events.first, rejected.kind == .rejected {
                // The engine refused (tick, lot, band, halt): undo the risk change.
                if let resting = engine.restingOrder(id) {
                    try? risk.replace(order: id, price: resting.price, quantity: resting.remainingQuantity,
                                      cashPerTick: listing.cashPerTick)
                }
                engine.removeAllEvents()
                outputs.append(.cancelRejected(key: key, original: original, reason: rejected.reason.description))
                break
            }
            live[original] = nil
            live[key] = id
            orders[id]?.key = key
            drainEvents(into: &outputs, requestKey: key, original: original)
        case .endOfDay:
            engine.endOfDay()
            drainEvents(into: &outputs, requestKey: nil, original: nil)
        }
        if pendingTrades.count >= batchSize, let batch = flush() { outputs.append(batch) }
        return outputs
    }

    private func newOrder(key: ClientOrderKey, account: AccountID, symbol: String, side: Side, kind: OrderKind,
                          price: Int64, quantity: Int64, timeInForce: TimeInForce, postOnly: Bool,
                          into outputs: inout [ExchangeOutput]) {
        func reject(_ reason: String) {
            outputs.append(.report(OrderReport(kind: .rejected(reason), key: key, original: nil, orderID: 0,
                                               symbol: symbol, side: side, lastQuantity: 0, lastPrice: 0,
                                               leavesQuantity: 0, cumulativeQuantity: 0, notional: 0, tradeID: nil)))
        }
        guard usedKeys.insert(key).inserted else { return reject("duplicate ClOrdID") }
        guard let symbolID = engine.symbolID(named: symbol) else { return reject("unknown symbol \(symbol)") }
        let listing = listings[Int(symbolID)]
        let id = nextOrderID
        // A market buy reserves what the visible book would cost it; with nothing
        // to buy it reserves nothing and simply expires.
        var reservePrice = price
        if kind == .market && side == .buy {
            reservePrice = engine.depth(symbolID, maximumLevels: Int.max)?.asks
                .reduce(into: (left: quantity, worst: Int64(1))) { state, level in
                    guard state.left > 0 else { return }
                    state.left -= level.quantity
                    state.worst = level.price
                }.worst ?? 1
        }
        do {
            try risk.reserve(order: id, account: account, side: side, security: listing.securityID,
                             price: reservePrice, quantity: quantity, cashPerTick: listing.cashPerTick)
        } catch {
            return reject("\(error)")
        }
        nextOrderID += 1
        orders[id] = OrderState(key: key, account: account, symbol: symbolID, side: side)
        live[key] = id
        engine.submit(NewOrder(id: id, account: account, symbol: symbolID, side: side, kind: kind, price: price,
                               quantity: quantity, timeInForce: timeInForce, postOnly: postOnly))
        drainEvents(into: &outputs, requestKey: key, original: nil)
    }

    /// Turns engine events into reports, risk updates and trades.
    private func drainEvents(into outputs: inout [ExchangeOutput], requestKey: ClientOrderKey?,
                             original: ClientOrderKey?) {
        for event in engine.events {
            switch event.kind {
            case .accepted:
                report(.new, event.orderID, into: &outputs)
            case .rejected:
                if let state = orders[event.orderID] {
                    outputs.append(.report(OrderReport(
                        kind: .rejected(event.reason.description), key: state.key, original: nil, orderID: 0,
                        symbol: listings[Int(state.symbol)].configuration.symbol, side: state.side, lastQuantity: 0,
                        lastPrice: 0, leavesQuantity: 0, cumulativeQuantity: 0, notional: 0, tradeID: nil)))
                    forget(event.orderID)
                } else if let requestKey, let original {
                    outputs.append(.cancelRejected(key: requestKey, original: original,
                                                   reason: event.reason.description))
                }
            case .trade:
                let listing = listings[Int(event.symbol)]
                let tradeID = nextTradeID
                nextTradeID += 1
                let buyIsTaker = event.side == .buy
                let trade = Trade(
                    tradeID: tradeID, securityID: listing.securityID,
                    buyer: buyIsTaker ? event.account : event.counterAccount,
                    seller: buyIsTaker ? event.counterAccount : event.account, quantity: event.quantity,
                    price: event.price, buyOrder: buyIsTaker ? event.orderID : event.counterOrderID,
                    sellOrder: buyIsTaker ? event.counterOrderID : event.orderID, cashPerTick: listing.cashPerTick)
                pendingTrades.append(trade)
                for (id, leaves) in [(event.orderID, event.leavesQuantity),
                                     (event.counterOrderID, event.counterLeavesQuantity)] {
                    try? risk.fill(order: id, quantity: event.quantity, price: event.price,
                                   cashPerTick: listing.cashPerTick)
                    orders[id]?.cumulative += event.quantity
                    orders[id]?.notional += event.quantity * event.price
                    report(.trade, id, last: (event.quantity, event.price), leaves: leaves, tradeID: tradeID,
                           into: &outputs)
                    if leaves == 0 && id != event.orderID { forget(id) }
                }
                if event.leavesQuantity == 0 { forget(event.orderID) }
            case .canceled:
                risk.release(order: event.orderID)
                // A requested cancel answers under the cancel's ClOrdID; self-trade
                // and mass cancels under the order's own.
                let requested = event.reason == .none && requestKey != nil
                report(.canceled, event.orderID, leaves: 0, key: requested ? requestKey : nil,
                       original: requested ? original : nil, into: &outputs)
                forget(event.orderID)
            case .expired:
                risk.release(order: event.orderID)
                report(.expired, event.orderID, leaves: 0, into: &outputs)
                forget(event.orderID)
            case .replaced:
                report(.replaced, event.orderID, leaves: event.leavesQuantity, original: original, into: &outputs)
            }
        }
        engine.removeAllEvents()
    }

    private func report(_ kind: OrderReport.Kind, _ id: OrderID, last: (Int64, Int64) = (0, 0), leaves: Int64? = nil,
                        tradeID: UInt64? = nil, key: ClientOrderKey? = nil, original: ClientOrderKey? = nil,
                        into outputs: inout [ExchangeOutput]) {
        guard let state = orders[id] else { return }
        let resting = engine.restingOrder(id)?.remainingQuantity ?? 0
        outputs.append(.report(OrderReport(
            kind: kind, key: key ?? state.key, original: original, orderID: id,
            symbol: listings[Int(state.symbol)].configuration.symbol, side: state.side, lastQuantity: last.0,
            lastPrice: last.1, leavesQuantity: leaves ?? resting, cumulativeQuantity: state.cumulative,
            notional: state.notional, tradeID: tradeID)))
    }

    private func forget(_ id: OrderID) {
        if let state = orders.removeValue(forKey: id) { live[state.key] = nil }
        risk.release(order: id)
    }
}
