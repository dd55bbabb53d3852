import Matching

/// A deliberately naive model of the matching rules: plain arrays, linear scans,
/// sorting on every match. Too slow for production and too simple to be wrong in
/// the same way as the engine, which is the point of a differential test.
final class ReferenceEngine {
    struct Order {
        var id: OrderID
        var account: AccountID
        var symbol: SymbolID
        var side: Side
        var price: Int64
        var remaining: Int64
        var timeInForce: TimeInForce
        var arrival: Int
    }

    var configurations: [SymbolConfiguration] = []
    var resting: [Order] = []
    var used: Set<OrderID> = []
    var events: [MatchEvent] = []
    private var clock = 0

    func addSymbol(_ configuration: SymbolConfiguration) -> SymbolID {
        configurations.append(configuration)
        return SymbolID(configurations.count - 1)
    }

    private func better(_ a: Order, _ b: Order) -> Bool {
        if a.price != b.price { return a.side == .buy ? a.price > b.price : a.price < b.price }
        return a.arrival < b.arrival
    }

    private func queue(_ symbol: SymbolID, _ side: Side) -> [Order] {
        resting.filter { $0.symbol == symbol && $0.side == side }.sorted(by: better)
    }

    private func acceptable(_ side: Side, isMarket: Bool, limit: Int64, price: Int64) -> Bool {
        isMarket || (side == .buy ? price <= limit : price >= limit)
    }

    private func removeResting(_ id: OrderID) {
        resting.removeAll { $0.id == id }
    }

    func submit(_ order: NewOrder) {
        let isMarket = order.kind == .market
        var reason: MatchReason?
        if Int(order.symbol) >= configurations.count {
            reason = .unknownSymbol
        } else {
            let c = configurations[Int(order.symbol)]
            if used.contains(order.id) { reason = .duplicateOrderID }
            else if order.quantity <= 0 { reason = .invalidQuantity }
            else if order.quantity > MatchingEngine.maximumQuantity { reason = .quantityTooLarge }
            else if !isMarket && order.price <= 0 { reason = .invalidPrice }
            else if !isMarket && order.price % c.tickSize != 0 { reason = .priceNotOnTick }
            else if order.quantity % c.lotSize != 0 { reason = .quantityNotOnLot }
            else if !isMarket, let band = c.priceBand, !band.contains(order.price) { reason = .outsidePriceBand }
            else if c.halted { reason = .symbolHalted }
            else if !isMarket && order.postOnly,
                    let best = queue(order.symbol, order.side.opposite).first,
                    acceptable(order.side, isMarket: false, limit: order.price, price: best.price) {
                reason = .postOnlyWouldCross
            }
        }
        if let reason {
            events.append(MatchEvent(kind: .rejected, side: order.side, reason: reason, hasPrice: !isMarket,
                                     symbol: order.symbol, orderID: order.id, account: order.account,
                                     price: order.price, quantity: order.quantity))
            return
        }
        used.insert(order.id)
        events.append(MatchEvent(kind: .accepted, side: order.side, hasPrice: !isMarket, symbol: order.symbol,
                                 orderID: order.id, account: order.account, price: isMarket ? 0 : order.price,
                                 quantity: order.quantity, leavesQuantity: order.quantity))
        if order.timeInForce == .fillOrKill {
            let available = queue(order.symbol, order.side.opposite)
                .filter { $0.account != order.account
                    && acceptable(order.side, isMarket: isMarket, limit: order.price, price: $0.price) }
                .reduce(Int64(0)) { $0 + $1.remaining }
            if available < order.quantity {
                events.append(MatchEvent(kind: .expired, side: order.side, hasPrice: !isMarket, symbol: order.symbol,
                                         orderID: order.id, account: order.account, price: order.price,
                                         quantity: order.quantity))
                return
            }
        }
        let left = match(order.id, account: order.account, symbol: order.symbol, side: order.side,
                         isMarket: isMarket, limit: order.price, quantity: order.quantity)
        guard left > 0 else { return }
        if !isMarket && (order.timeInForce == .goodTillCancel || order.timeInForce == .day) {
            clock += 1
            resting.append(Order(id: order.id, account: order.account, symbol: order.symbol, side: order.side,
                                 price: order.price, remaining: left, timeInForce: order.timeInForce, arrival: clock))
        } else {
            events.append(MatchEvent(kind: .expired, side: order.side, hasPrice: !isMarket, symbol: order.symbol,
                                     orderID: order.id, account: order.account, price: order.price, quantity: left))
        }
    }

    private func match(_ id: OrderID, account: AccountID, symbol: SymbolID, side: Side, isMarket: Bool,
                       limit: Int64, quantity: Int64) -> Int64 {
        var left = quantity
        while left > 0 {
            guard let best = queue(symbol, side.opposite).first,
                  acceptable(side, isMarket: isMarket, limit: limit, price: best.price) else { break }
            guard let index = resting.firstIndex(where: { $0.id == best.id }) else { break }
            if best.account == account {
                events.append(MatchEvent(kind: .canceled, side: best.side, reason: .selfTrade, symbol: symbol,
                                         orderID: best.id, account: best.account, price: best.price,
                                         quantity: best.remaining))
                resting.remove(at: index)
                continue
            }
            let fill = min(left, best.remaining)
            left -= fill
            resting[index].remaining -= fill
            events.append(MatchEvent(kind: .trade, side: side, symbol: symbol, orderID: id, counterOrderID: best.id,
                                     account: account, counterAccount: best.account, price: best.price,
                                     quantity: fill, leavesQuantity: left,
                                     counterLeavesQuantity: resting[index].remaining))
            if resting[index].remaining == 0 { resting.remove(at: index) }
        }
        return left
    }

    func cancel(_ id: OrderID) {
        guard let order = resting.first(where: { $0.id == id }) else {
            events.append(MatchEvent(kind: .rejected, side: .buy, reason: .unknownOrder, hasPrice: false, symbol: 0,
                                     orderID: id, price: 0, quantity: 0))
            return
        }
        events.append(MatchEvent(kind: .canceled, side: order.side, symbol: order.symbol, orderID: id,
                                 account: order.account, price: order.price, quantity: order.remaining))
        removeResting(id)
    }

    func replace(_ id: OrderID, price: Int64, quantity: Int64) {
        guard let index = resting.firstIndex(where: { $0.id == id }) else {
            events.append(MatchEvent(kind: .rejected, side: .buy, reason: .unknownOrder, symbol: 0, orderID: id,
                                     price: price, quantity: quantity))
            return
        }
        let order = resting[index]
        let c = configurations[Int(order.symbol)]
        var reason: MatchReason?
        if c.halted { reason = .symbolHalted }
        else if quantity <= 0 { reason = .invalidQuantity }
        else if quantity > MatchingEngine.maximumQuantity { reason = .quantityTooLarge }
        else if price <= 0 { reason = .invalidPrice }
        else if price % c.tickSize != 0 { reason = .priceNotOnTick }
        else if quantity % c.lotSize != 0 { reason = .quantityNotOnLot }
        else if let band = c.priceBand, !band.contains(price) { reason = .outsidePriceBand }
        if let reason {
            events.append(MatchEvent(kind: .rejected, side: order.side, reason: reason, symbol: order.symbol,
                                     orderID: id, account: order.account, price: price, quantity: quantity))
            return
        }
        events.append(MatchEvent(kind: .replaced, side: order.side, symbol: order.symbol, orderID: id,
                                 account: order.account, price: price, quantity: quantity, leavesQuantity: quantity))
        if price == order.price && quantity <= order.remaining {
            resting[index].remaining = quantity
            return
        }
        resting.remove(at: index)
        let left = match(id, account: order.account, symbol: order.symbol, side: order.side, isMarket: false,
                         limit: price, quantity: quantity)
        if left > 0 {
            clock += 1
            var moved = order
            moved.price = price
            moved.remaining = left
            moved.arrival = clock
            resting.append(moved)
        }
    }

    func massCancel(account: AccountID, symbol: SymbolID?) {
        let victims = resting.filter { $0.account == account && (symbol == nil || $0.symbol == symbol) }
            .sorted { $0.id < $1.id }
        for order in victims {
            events.append(MatchEvent(kind: .canceled, side: order.side, reason: .massCancel, symbol: order.symbol,
                                     orderID: order.id, account: order.account, price: order.price,
                                     quantity: order.remaining))
            removeResting(order.id)
        }
    }

    func endOfDay() {
        let victims = resting.filter { $0.timeInForce == .day }.sorted { $0.id < $1.id }
        for order in victims {
            events.append(MatchEvent(kind: .expired, side: order.side, symbol: order.symbol, orderID: order.id,
                                     account: order.account, price: order.price, quantity: order.remaining))
            removeResting(order.id)
        }
    }

    func setHalted(_ halted: Bool, symbol: SymbolID) {
        configurations[Int(symbol)].halted = halted
    }

    /// Resting orders of one side in priority order, as the engine reports them.
    func restingOrders(_ symbol: SymbolID, side: Side) -> [RestingOrder] {
        queue(symbol, side).map {
            RestingOrder(id: $0.id, account: $0.account, symbol: $0.symbol, side: $0.side, price: $0.price,
                         remainingQuantity: $0.remaining, timeInForce: $0.timeInForce)
        }
    }
}
