import Matching
import Testing

/// One engine with one symbol, and shorthands that return the events a command caused.
final class Harness {
    let engine = MatchingEngine(expectedRestingOrders: 16)
    let symbol: SymbolID

    init(_ configuration: SymbolConfiguration = SymbolConfiguration(symbol: "ACME")) throws {
        symbol = try engine.addSymbol(configuration)
    }

    private func take() -> [MatchEvent] {
        defer { engine.removeAllEvents() }
        #expect(engine.invariantViolations() == [])
        return engine.events
    }

    @discardableResult
    func limit(_ id: OrderID, _ side: Side, _ price: Int64, _ quantity: Int64, account: AccountID = 1,
               _ tif: TimeInForce = .goodTillCancel, postOnly: Bool = false) -> [MatchEvent] {
        engine.submit(NewOrder(id: id, account: account, symbol: symbol, side: side, price: price,
                               quantity: quantity, timeInForce: tif, postOnly: postOnly))
        return take()
    }

    @discardableResult
    func market(_ id: OrderID, _ side: Side, _ quantity: Int64, account: AccountID = 1) -> [MatchEvent] {
        engine.submit(.market(id, account: account, symbol: symbol, side, quantity: quantity))
        return take()
    }

    @discardableResult
    func cancel(_ id: OrderID) -> [MatchEvent] {
        engine.cancel(id)
        return take()
    }

    @discardableResult
    func replace(_ id: OrderID, _ price: Int64, _ quantity: Int64) -> [MatchEvent] {
        engine.replace(id, price: price, quantity: quantity)
        return take()
    }

    @discardableResult
    func endOfDay() -> [MatchEvent] {
        engine.endOfDay()
        return take()
    }

    @discardableResult
    func massCancel(_ account: AccountID) -> [MatchEvent] {
        engine.massCancel(account: account)
        return take()
    }

    func book(_ side: Side) -> [OrderID] { engine.restingOrders(symbol, side: side).map(\.id) }
}

/// Compact view of events for assertions: kind, order, counter order, price, quantity, reason.
struct E: Equatable, CustomStringConvertible {
    var kind: MatchEvent.Kind
    var id: OrderID
    var counter: OrderID = 0
    var price: Int64? = nil
    var quantity: Int64
    var reason: MatchReason = .none

    var description: String {
        "\(kind) \(id)\(counter != 0 ? "/\(counter)" : "") px=\(price.map(String.init) ?? "-") q=\(quantity) \(reason)"
    }
}

func brief(_ events: [MatchEvent]) -> [E] {
    events.map {
        E(kind: $0.kind, id: $0.orderID, counter: $0.counterOrderID, price: $0.hasPrice ? $0.price : nil,
          quantity: $0.quantity, reason: $0.reason)
    }
}

@Suite("Order types")
struct OrderTypeTests {
    @Test func limitRestsWhenItDoesNotCross() throws {
        let h = try Harness()
        #expect(brief(h.limit(1, .buy, 100, 10)) == [E(kind: .accepted, id: 1, price: 100, quantity: 10)])
        #expect(brief(h.limit(2, .sell, 101, 5, account: 2)) == [E(kind: .accepted, id: 2, price: 101, quantity: 5)])
        let bbo = h.engine.bestBidOffer(h.symbol)
        #expect(bbo == BestBidOffer(bidPrice: 100, bidQuantity: 10, askPrice: 101, askQuantity: 5))
    }

    @Test func crossingLimitTradesAtRestingPriceAndRestsTheRest() throws {
        let h = try Harness()
        h.limit(1, .sell, 100, 5, account: 2)
        h.limit(2, .sell, 101, 5, account: 2)
        let events = h.limit(3, .buy, 102, 12)
        #expect(brief(events) == [
            E(kind: .accepted, id: 3, price: 102, quantity: 12),
            E(kind: .trade, id: 3, counter: 1, price: 100, quantity: 5),
            E(kind: .trade, id: 3, counter: 2, price: 101, quantity: 5),
        ])
        #expect(events[2].leavesQuantity == 2 && events[2].counterLeavesQuantity == 0)
        #expect(events[2].account == 1 && events[2].counterAccount == 2)
        #expect(h.engine.restingOrder(3)?.remainingQuantity == 2)
        #expect(h.engine.bestBidOffer(h.symbol)?.bidPrice == 102)
    }

    @Test func priceThenTimePriority() throws {
        let h = try Harness()
        h.limit(1, .sell, 101, 5, account: 2)
        h.limit(2, .sell, 100, 5, account: 3)
        h.limit(3, .sell, 100, 5, account: 4)
        let events = h.market(4, .buy, 12)
        #expect(brief(events).filter { $0.kind == .trade }.map(\.counter) == [2, 3, 1])
    }

    @Test func dayOrdersExpireAtEndOfDayInAscendingID() throws {
        let h = try Harness()
        h.limit(7, .buy, 99, 1, .day)
        h.limit(3, .buy, 100, 2, .day)
        h.limit(5, .sell, 110, 3, account: 2, .goodTillCancel)
        #expect(brief(h.endOfDay()) == [
            E(kind: .expired, id: 3, price: 100, quantity: 2),
            E(kind: .expired, id: 7, price: 99, quantity: 1),
        ])
        #expect(h.book(.sell) == [5])
        #expect(h.book(.buy) == [])
    }

    @Test func marketSweepsLevelsAndNeverRests() throws {
        let h = try Harness()
        h.limit(1, .sell, 100, 3, account: 2)
        h.limit(2, .sell, 105, 3, account: 2)
        #expect(brief(h.market(3, .buy, 10)) == [
            E(kind: .accepted, id: 3, quantity: 10),
            E(kind: .trade, id: 3, counter: 1, price: 100, quantity: 3),
            E(kind: .trade, id: 3, counter: 2, price: 105, quantity: 3),
            E(kind: .expired, id: 3, quantity: 4),
        ])
        #expect(h.engine.restingOrderCount == 0)
        #expect(brief(h.market(4, .sell, 1)) == [E(kind: .accepted, id: 4, quantity: 1), E(kind: .expired, id: 4, quantity: 1)])
    }

    @Test func immediateOrCancelExpiresTheRest() throws {
        let h = try Harness()
        h.limit(1, .buy, 100, 4, account: 2)
        h.limit(2, .buy, 98, 4, account: 2)
        #expect(brief(h.limit(3, .sell, 99, 10, .immediateOrCancel)) == [
            E(kind: .accepted, id: 3, price: 99, quantity: 10),
            E(kind: .trade, id: 3, counter: 1, price: 100, quantity: 4),
            E(kind: .expired, id: 3, price: 99, quantity: 6),
        ])
        #expect(h.book(.buy) == [2])
        #expect(h.book(.sell) == [])
    }

    @Test func fillOrKillAllOrNothing() throws {
        let h = try Harness()
        h.limit(1, .sell, 100, 4, account: 2)
        h.limit(2, .sell, 101, 4, account: 1)   // own account: does not count
        h.limit(3, .sell, 102, 4, account: 3)   // beyond the limit
        #expect(brief(h.limit(4, .buy, 101, 8, .fillOrKill)) == [
            E(kind: .accepted, id: 4, price: 101, quantity: 8),
            E(kind: .expired, id: 4, price: 101, quantity: 8),
        ])
        #expect(h.book(.sell) == [1, 2, 3])   // nothing else changed, no self-trade cancel
        #expect(brief(h.limit(5, .buy, 102, 8, .fillOrKill)) == [
            E(kind: .accepted, id: 5, price: 102, quantity: 8),
            E(kind: .trade, id: 5, counter: 1, price: 100, quantity: 4),
            E(kind: .canceled, id: 2, price: 101, quantity: 4, reason: .selfTrade),
            E(kind: .trade, id: 5, counter: 3, price: 102, quantity: 4),
        ])
    }

    @Test func postOnlyRejectedWhenItWouldCross() throws {
        let h = try Harness()
        h.limit(1, .sell, 100, 4, account: 2)
        #expect(brief(h.limit(2, .buy, 100, 1, postOnly: true)) == [
            E(kind: .rejected, id: 2, price: 100, quantity: 1, reason: .postOnlyWouldCross),
        ])
        #expect(brief(h.limit(3, .buy, 99, 1, postOnly: true)) == [E(kind: .accepted, id: 3, price: 99, quantity: 1)])
        #expect(!h.engine.hasUsed(2))
    }

    @Test func selfTradePreventionCancelsRestingAndGoesOn() throws {
        let h = try Harness()
        h.limit(1, .sell, 100, 5, account: 7)
        h.limit(2, .sell, 100, 5, account: 8)
        #expect(brief(h.limit(3, .buy, 100, 5, account: 7)) == [
            E(kind: .accepted, id: 3, price: 100, quantity: 5),
            E(kind: .canceled, id: 1, price: 100, quantity: 5, reason: .selfTrade),
            E(kind: .trade, id: 3, counter: 2, price: 100, quantity: 5),
        ])
        #expect(h.engine.restingOrderCount == 0)
    }
}

@Suite("Cancel, replace, mass cancel")
struct CancelReplaceTests {
    @Test func cancelReportsWhatWasLeft() throws {
        let h = try Harness()
        h.limit(1, .buy, 100, 10)
        h.limit(2, .sell, 100, 4, account: 2)
        #expect(brief(h.cancel(1)) == [E(kind: .canceled, id: 1, price: 100, quantity: 6)])
        #expect(brief(h.cancel(1)) == [E(kind: .rejected, id: 1, quantity: 0, reason: .unknownOrder)])
        #expect(brief(h.cancel(2)) == [E(kind: .rejected, id: 2, quantity: 0, reason: .unknownOrder)])  // filled
        #expect(brief(h.cancel(99)) == [E(kind: .rejected, id: 99, quantity: 0, reason: .unknownOrder)])
    }

    @Test func quantityDownKeepsPriorityQuantityUpLosesIt() throws {
        let h = try Harness()
        h.limit(1, .buy, 100, 10)
        h.limit(2, .buy, 100, 10)
        #expect(brief(h.replace(1, 100, 4)) == [E(kind: .replaced, id: 1, price: 100, quantity: 4)])
        #expect(h.book(.buy) == [1, 2])
        h.replace(1, 100, 4)   // unchanged: still first
        #expect(h.book(.buy) == [1, 2])
        h.replace(1, 100, 5)   // up: to the back
        #expect(h.book(.buy) == [2, 1])
        #expect(h.engine.bestBidOffer(h.symbol)?.bidQuantity == 15)
    }

    @Test func priceChangeLosesPriorityAndCrossingReplaceTrades() throws {
        let h = try Harness()
        h.limit(1, .buy, 99, 10)
        h.limit(2, .buy, 100, 10)
        h.replace(1, 100, 10)
        #expect(h.book(.buy) == [2, 1])
        h.limit(3, .sell, 102, 6, account: 2)
        #expect(brief(h.replace(2, 103, 10)) == [
            E(kind: .replaced, id: 2, price: 103, quantity: 10),
            E(kind: .trade, id: 2, counter: 3, price: 102, quantity: 6),
        ])
        #expect(h.engine.restingOrder(2)?.remainingQuantity == 4)
        #expect(h.engine.restingOrder(2)?.price == 103)
    }

    @Test func replaceRejectsChangeNothing() throws {
        let h = try Harness(SymbolConfiguration(symbol: "ACME", tickSize: 5, lotSize: 10, priceBand: 50...150))
        h.limit(1, .buy, 100, 20)
        #expect(brief(h.replace(1, 100, 0)).map(\.reason) == [.invalidQuantity])
        #expect(brief(h.replace(1, 0, 10)).map(\.reason) == [.invalidPrice])
        #expect(brief(h.replace(1, 101, 10)).map(\.reason) == [.priceNotOnTick])
        #expect(brief(h.replace(1, 100, 15)).map(\.reason) == [.quantityNotOnLot])
        #expect(brief(h.replace(1, 200, 10)).map(\.reason) == [.outsidePriceBand])
        #expect(brief(h.replace(9, 100, 10)).map(\.reason) == [.unknownOrder])
        #expect(h.engine.restingOrder(1)?.remainingQuantity == 20)
        #expect(h.engine.restingOrder(1)?.price == 100)
    }

    @Test func massCancelTakesOnlyThatAccountInIDOrder() throws {
        let h = try Harness()
        h.limit(5, .buy, 100, 1, account: 1)
        h.limit(2, .sell, 110, 1, account: 1)
        h.limit(3, .buy, 99, 1, account: 2)
        #expect(brief(h.massCancel(1)) == [
            E(kind: .canceled, id: 2, price: 110, quantity: 1, reason: .massCancel),
            E(kind: .canceled, id: 5, price: 100, quantity: 1, reason: .massCancel),
        ])
        #expect(h.book(.buy) == [3])
    }
}

@Suite("Rejects")
struct RejectTests {
    @Test func everyRejectHasItsReasonAndChangesNothing() throws {
        let h = try Harness(SymbolConfiguration(symbol: "ACME", tickSize: 5, lotSize: 10, priceBand: 50...150))
        h.limit(1, .sell, 100, 10, account: 2)
        let before = h.engine.depth(h.symbol)
        let cases: [(NewOrder, MatchReason)] = [
            (.limit(1, account: 1, symbol: h.symbol, .buy, price: 100, quantity: 10), .duplicateOrderID),
            (.limit(2, account: 1, symbol: h.symbol, .buy, price: 100, quantity: 0), .invalidQuantity),
            (.limit(2, account: 1, symbol: h.symbol, .buy, price: 100, quantity: -10), .invalidQuantity),
            (.limit(2, account: 1, symbol: h.symbol, .buy, price: 100, quantity: 1 << 60), .quantityTooLarge),
            (.limit(2, account: 1, symbol: h.symbol, .buy, price: 0, quantity: 10), .invalidPrice),
            (.limit(2, account: 1, symbol: h.symbol, .buy, price: -5, quantity: 10), .invalidPrice),
            (.limit(2, account: 1, symbol: h.symbol, .buy, price: 102, quantity: 10), .priceNotOnTick),
            (.limit(2, account: 1, symbol: h.symbol, .buy, price: 100, quantity: 15), .quantityNotOnLot),
            (.limit(2, account: 1, symbol: h.symbol, .buy, price: 155, quantity: 10), .outsidePriceBand),
            (.limit(2, account: 1, symbol: 9, .buy, price: 100, quantity: 10), .unknownSymbol),
        ]
        for (order, reason) in cases {
            h.engine.submit(order)
            #expect(brief(h.engine.events) == [E(kind: .rejected, id: order.id, price: order.price,
                                                 quantity: order.quantity, reason: reason)])
            h.engine.removeAllEvents()
        }
        #expect(h.engine.depth(h.symbol) == before)
        #expect(!h.engine.hasUsed(2))
        // A rejected id was not used up.
        #expect(brief(h.limit(2, .buy, 95, 10)).map(\.kind) == [.accepted])
    }

    @Test func duplicateIDOfAFinishedOrderIsRejected() throws {
        let h = try Harness()
        h.limit(1, .sell, 100, 1, account: 2)
        h.market(2, .buy, 1)
        #expect(brief(h.limit(1, .sell, 100, 1)).map(\.reason) == [.duplicateOrderID])
        #expect(brief(h.limit(2, .sell, 100, 1)).map(\.reason) == [.duplicateOrderID])
    }

    @Test func haltedSymbolRejectsOrdersButAllowsCancels() throws {
        let h = try Harness()
        h.limit(1, .buy, 100, 1)
        #expect(h.engine.setHalted(true, symbol: h.symbol))
        #expect(brief(h.limit(2, .sell, 100, 1, account: 2)).map(\.reason) == [.symbolHalted])
        #expect(brief(h.replace(1, 101, 1)).map(\.reason) == [.symbolHalted])
        #expect(brief(h.cancel(1)).map(\.kind) == [.canceled])
        #expect(h.engine.setHalted(false, symbol: h.symbol))
        #expect(brief(h.limit(3, .sell, 100, 1, account: 2)).map(\.kind) == [.accepted])
    }

    @Test func badSymbolConfigurationsAreRefused() throws {
        let engine = MatchingEngine()
        #expect(throws: MatchingEngine.ConfigurationError.invalid(field: "tickSize", value: "0")) {
            try engine.addSymbol(SymbolConfiguration(symbol: "X", tickSize: 0))
        }
        #expect(throws: MatchingEngine.ConfigurationError.invalid(field: "lotSize", value: "-1")) {
            try engine.addSymbol(SymbolConfiguration(symbol: "X", lotSize: -1))
        }
        _ = try engine.addSymbol(SymbolConfiguration(symbol: "X"))
        #expect(throws: MatchingEngine.ConfigurationError.duplicateSymbol("X")) {
            try engine.addSymbol(SymbolConfiguration(symbol: "X"))
        }
    }

    @Test func levelTotalsCannotOverflow() throws {
        let h = try Harness()
        let big = MatchingEngine.maximumQuantity
        var id: OrderID = 1
        // Fill one level to just under Int64.max, then one more order must be refused.
        while true {
            let events = h.limit(id, .buy, 100, big)
            id += 1
            if events.first?.kind == .rejected {
                #expect(events.first?.reason == .quantityTooLarge)
                break
            }
            #expect(id < 10_000)
        }
        #expect(h.engine.invariantViolations() == [])
    }
}

@Suite("Queries")
struct QueryTests {
    @Test func depthAggregatesLevelsBestFirst() throws {
        let h = try Harness()
        h.limit(1, .buy, 100, 3)
        h.limit(2, .buy, 100, 4)
        h.limit(3, .buy, 98, 1)
        h.limit(4, .sell, 103, 2, account: 2)
        h.limit(5, .sell, 101, 5, account: 2)
        let depth = try #require(h.engine.depth(h.symbol, maximumLevels: 5))
        #expect(depth.bids == [DepthLevel(price: 100, quantity: 7, orderCount: 2),
                               DepthLevel(price: 98, quantity: 1, orderCount: 1)])
        #expect(depth.asks == [DepthLevel(price: 101, quantity: 5, orderCount: 1),
                               DepthLevel(price: 103, quantity: 2, orderCount: 1)])
        #expect(h.engine.depth(h.symbol, maximumLevels: 1)?.bids.count == 1)
        #expect(h.engine.depth(77) == nil)
    }

    @Test func manySymbolsAreIndependent() throws {
        let engine = MatchingEngine()
        let a = try engine.addSymbol(SymbolConfiguration(symbol: "A"))
        let b = try engine.addSymbol(SymbolConfiguration(symbol: "B"))
        engine.submit(.limit(1, account: 1, symbol: a, .sell, price: 100, quantity: 1))
        engine.submit(.limit(2, account: 2, symbol: b, .buy, price: 200, quantity: 1))
        #expect(engine.events.allSatisfy { $0.kind == .accepted })
        #expect(engine.symbolID(named: "B") == b)
        #expect(engine.bestBidOffer(a)?.askPrice == 100)
        #expect(engine.bestBidOffer(b)?.bidPrice == 200)
    }
}
