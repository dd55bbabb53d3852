/// Price-time priority matching for many symbols, deterministic and free of I/O.
///
/// Commands go in one at a time (`submit`, `cancel`, `replace`, `massCancel`,
/// `endOfDay`, `halt`); what happened comes out as `events`, in order, until the
/// caller empties them with `removeAllEvents()`. The engine reads no clock: time
/// priority is arrival order. A rejected command changes nothing but the event
/// list.
///
/// Orders, price levels and the id index live in pools of plain values that are
/// reused, so a steady flow of orders allocates nothing. The engine is a class
/// because it owns that memory; confine each instance to one thread (the
/// exchange's sequencer).
public final class MatchingEngine {
    /// Above this an order is rejected: it keeps level totals far from Int64 overflow.
    public static let maximumQuantity: Int64 = 1 << 50

    @exclusivity(unchecked) private var orders = SlotPool<OrderRecord>(capacity: 1024)
    @exclusivity(unchecked) private var levels = SlotPool<LevelRecord>(capacity: 1024)
    @exclusivity(unchecked) private var books: UnsafeMutablePointer<Book>
    @exclusivity(unchecked) private var bookCapacity = 16
    @exclusivity(unchecked) private var configurations: [SymbolConfiguration] = []
    @exclusivity(unchecked) private var symbolIDs: [String: SymbolID] = [:]
    @exclusivity(unchecked) private var index = OrderIndex(minimumCapacity: 1024)
    @exclusivity(unchecked) private var history = OrderIDHistory()

    /// What happened since the last `removeAllEvents()`, in order.
    @exclusivity(unchecked) public private(set) var events: [MatchEvent] = []

    /// Sizes the pools up front: `expectedRestingOrders` for orders and levels,
    /// `expectedOrderIDs` for the record of used ids (one bit each when ids are
    /// dense). Beyond these the engine grows, which allocates; within them it
    /// allocates nothing per order.
    public init(expectedRestingOrders: Int = 1024, expectedOrderIDs: Int = 1 << 22) {
        history = OrderIDHistory(expectedIDs: expectedOrderIDs)
        orders = SlotPool(capacity: expectedRestingOrders)
        levels = SlotPool(capacity: max(expectedRestingOrders / 4, 64))
        index = OrderIndex(minimumCapacity: expectedRestingOrders)
        books = .allocate(capacity: bookCapacity)
        events.reserveCapacity(1024)
    }

    deinit {
        for i in 0..<configurations.count { books[i].deallocate() }
        books.deallocate()
        orders.deallocate()
        levels.deallocate()
    }

    /// Empties the event list but keeps its storage for the next commands.
    public func removeAllEvents() {
        events.removeAll(keepingCapacity: true)
    }

    // MARK: - Symbols

    public enum ConfigurationError: Error, Equatable, CustomStringConvertible {
        case duplicateSymbol(String)
        case invalid(field: String, value: String)

        public var description: String {
            switch self {
            case let .duplicateSymbol(symbol): return "symbol: \"\(symbol)\" is already listed"
            case let .invalid(field, value): return "\(field): invalid value \(value)"
            }
        }
    }

    /// Lists a symbol and returns the id its orders carry.
    @discardableResult
    public func addSymbol(_ configuration: SymbolConfiguration) throws(ConfigurationError) -> SymbolID {
        guard !configuration.symbol.isEmpty else { throw .invalid(field: "symbol", value: "\"\"") }
        guard symbolIDs[configuration.symbol] == nil else { throw .duplicateSymbol(configuration.symbol) }
        guard configuration.tickSize > 0 else {
            throw .invalid(field: "tickSize", value: String(configuration.tickSize))
        }
        guard configuration.lotSize > 0 else {
            throw .invalid(field: "lotSize", value: String(configuration.lotSize))
        }
        if let band = configuration.priceBand, band.lowerBound <= 0 {
            throw .invalid(field: "priceBand", value: "\(band.lowerBound)...\(band.upperBound)")
        }
        let id = SymbolID(configurations.count)
        if configurations.count == bookCapacity {
            let newCapacity = bookCapacity * 2
            let newBooks = UnsafeMutablePointer<Book>.allocate(capacity: newCapacity)
            newBooks.moveInitialize(from: books, count: configurations.count)
            books.deallocate()
            books = newBooks
            bookCapacity = newCapacity
        }
        (books + Int(id)).initialize(to: Book())
        configurations.append(configuration)
        symbolIDs[configuration.symbol] = id
        return id
    }

    public func symbolID(named symbol: String) -> SymbolID? { symbolIDs[symbol] }

    public func configuration(of symbol: SymbolID) -> SymbolConfiguration? {
        Int(symbol) < configurations.count ? configurations[Int(symbol)] : nil
    }

    public var symbolCount: Int { configurations.count }

    /// Stops (or resumes) new orders and replaces in `symbol`; cancels still work.
    public func setHalted(_ halted: Bool, symbol: SymbolID) -> Bool {
        guard Int(symbol) < configurations.count else { return false }
        configurations[Int(symbol)].halted = halted
        return true
    }

    // MARK: - Commands

    /// Accepts or rejects a new order and matches it.
    public func submit(_ order: NewOrder) {
        if let reason = validate(order) {
            reject(order.id, side: order.side, symbol: order.symbol, account: order.account,
                   hasPrice: order.kind == .limit, price: order.price, quantity: order.quantity, reason: reason)
            return
        }
        history.insert(order.id)
        let isMarket = order.kind == .market
        events.append(MatchEvent(kind: .accepted, side: order.side, hasPrice: !isMarket, symbol: order.symbol,
                                 orderID: order.id, account: order.account, price: isMarket ? 0 : order.price,
                                 quantity: order.quantity, leavesQuantity: order.quantity))
        if order.timeInForce == .fillOrKill,
           !hasLiquidity(for: order.quantity, side: order.side, symbol: order.symbol, account: order.account,
                         isMarket: isMarket, limit: order.price) {
            expire(order.id, side: order.side, symbol: order.symbol, account: order.account,
                   hasPrice: !isMarket, price: order.price, quantity: order.quantity)
            return
        }
        let remaining = match(order.id, account: order.account, symbol: order.symbol, side: order.side,
                              isMarket: isMarket, limit: order.price, quantity: order.quantity)
        guard remaining > 0 else { return }
        if !isMarket && order.timeInForce.rests {
            let slot = orders.allocate(OrderRecord(
                id: order.id, account: order.account, price: order.price, remaining: remaining,
                prev: -1, next: -1, level: -1, symbol: order.symbol, side: order.side,
                timeInForce: order.timeInForce, live: true))
            index.set(order.id, slot)
            rest(slot)
        } else {
            expire(order.id, side: order.side, symbol: order.symbol, account: order.account,
                   hasPrice: !isMarket, price: order.price, quantity: remaining)
        }
    }

    /// Cancels a resting order; anything else is rejected as unknown.
    public func cancel(_ orderID: OrderID) {
        guard let slot = index.find(orderID) else {
            reject(orderID, side: .buy, symbol: 0, account: 0, hasPrice: false, price: 0, quantity: 0,
                   reason: .unknownOrder)
            return
        }
        cancelResting(slot, reason: .none)
    }

    /// Changes a resting order's price and remaining quantity. The same price with
    /// the quantity lowered (or unchanged) keeps its place in the queue; any other
    /// change re-enters it at the back, trading first if it now crosses.
    public func replace(_ orderID: OrderID, price: Int64, quantity: Int64) {
        guard let slot = index.find(orderID) else {
            reject(orderID, side: .buy, symbol: 0, account: 0, hasPrice: true, price: price, quantity: quantity,
                   reason: .unknownOrder)
            return
        }
        let order = orders[slot]
        let configuration = configurations[Int(order.symbol)]
        var reason = MatchReason.none
        if configuration.halted {
            reason = .symbolHalted
        } else if quantity <= 0 {
            reason = .invalidQuantity
        } else if quantity > Self.maximumQuantity {
            reason = .quantityTooLarge
        } else if price <= 0 {
            reason = .invalidPrice
        } else if price % configuration.tickSize != 0 {
            reason = .priceNotOnTick
        } else if quantity % configuration.lotSize != 0 {
            reason = .quantityNotOnLot
        } else if let band = configuration.priceBand, !band.contains(price) {
            reason = .outsidePriceBand
        } else if price != order.price || quantity > order.remaining {
            // The re-entered order must fit its new level without overflow.
            let level = sideOf(order.symbol, order.side).level(atPrice: price)
            if level >= 0 {
                var total = levels[level].totalQuantity
                if level == order.level { total -= order.remaining }
                if total.addingReportingOverflow(quantity).overflow { reason = .quantityTooLarge }
            }
        }
        if reason != .none {
            reject(orderID, side: order.side, symbol: order.symbol, account: order.account, hasPrice: true,
                   price: price, quantity: quantity, reason: reason)
            return
        }

        events.append(MatchEvent(kind: .replaced, side: order.side, symbol: order.symbol, orderID: orderID,
                                 account: order.account, price: price, quantity: quantity,
                                 leavesQuantity: quantity))
        if price == order.price && quantity <= order.remaining {
            levels[order.level].totalQuantity -= order.remaining - quantity
            orders[slot].remaining = quantity
            return
        }
        unlink(slot)
        let remaining = match(orderID, account: order.account, symbol: order.symbol, side: order.side,
                              isMarket: false, limit: price, quantity: quantity)
        if remaining > 0 {
            orders[slot].price = price
            orders[slot].remaining = remaining
            rest(slot)
        } else {
            index.remove(orderID)
            orders[slot].live = false
            orders.free(slot)
        }
    }

    /// Cancels every resting order of `account` (in one symbol, or all), in
    /// ascending order id; returns how many.
    @discardableResult
    public func massCancel(account: AccountID, symbol: SymbolID? = nil) -> Int {
        let slots = liveSlots { order in
            order.account == account && (symbol == nil || order.symbol == symbol)
        }
        for slot in slots { cancelResting(slot, reason: .massCancel) }
        return slots.count
    }

    /// Expires every resting DAY order, in ascending order id; returns how many.
    @discardableResult
    public func endOfDay() -> Int {
        let slots = liveSlots { $0.timeInForce == .day }
        for slot in slots {
            let order = orders[slot]
            expire(order.id, side: order.side, symbol: order.symbol, account: order.account, hasPrice: true,
                   price: order.price, quantity: order.remaining)
            removeResting(slot)
        }
        return slots.count
    }

    // MARK: - Queries

    public func bestBidOffer(_ symbol: SymbolID) -> BestBidOffer? {
        guard Int(symbol) < configurations.count else { return nil }
        let book = books[Int(symbol)]
        var result = BestBidOffer(bidPrice: nil, bidQuantity: 0, askPrice: nil, askQuantity: 0)
        let bid = book.bids.bestLevel
        if bid >= 0 {
            result.bidPrice = levels[bid].price
            result.bidQuantity = levels[bid].totalQuantity
        }
        let ask = book.asks.bestLevel
        if ask >= 0 {
            result.askPrice = levels[ask].price
            result.askQuantity = levels[ask].totalQuantity
        }
        return result
    }

    /// Aggregated depth, at most `maximumLevels` per side, best first.
    public func depth(_ symbol: SymbolID, maximumLevels: Int = 10) -> DepthSnapshot? {
        guard Int(symbol) < configurations.count else { return nil }
        let book = books[Int(symbol)]
        func levelsOf(_ side: BookSide) -> [DepthLevel] {
            var result: [DepthLevel] = []
            side.forEachLevelBestFirst { slot in
                guard result.count < maximumLevels else { return false }
                let level = levels[slot]
                result.append(DepthLevel(price: level.price, quantity: level.totalQuantity,
                                         orderCount: Int(level.orderCount)))
                return true
            }
            return result
        }
        return DepthSnapshot(bids: levelsOf(book.bids), asks: levelsOf(book.asks))
    }

    /// The order if it is resting.
    public func restingOrder(_ orderID: OrderID) -> RestingOrder? {
        guard let slot = index.find(orderID) else { return nil }
        let order = orders[slot]
        return RestingOrder(id: order.id, account: order.account, symbol: order.symbol, side: order.side,
                            price: order.price, remainingQuantity: order.remaining, timeInForce: order.timeInForce)
    }

    /// Resting orders of one book side in priority order (best price, then arrival).
    public func restingOrders(_ symbol: SymbolID, side: Side) -> [RestingOrder] {
        guard Int(symbol) < configurations.count else { return [] }
        var result: [RestingOrder] = []
        sideOf(symbol, side).forEachLevelBestFirst { levelSlot in
            var slot = levels[levelSlot].head
            while slot >= 0 {
                let order = orders[slot]
                result.append(RestingOrder(id: order.id, account: order.account, symbol: order.symbol,
                                           side: order.side, price: order.price,
                                           remainingQuantity: order.remaining, timeInForce: order.timeInForce))
                slot = order.next
            }
            return true
        }
        return result
    }

    public var restingOrderCount: Int { orders.liveCount }
    public var priceLevelCount: Int { levels.liveCount }

    /// Whether `orderID` was ever accepted (so it can never be used again).
    public func hasUsed(_ orderID: OrderID) -> Bool { history.contains(orderID) }

    // MARK: - Matching

    private func validate(_ order: NewOrder) -> MatchReason? {
        guard Int(order.symbol) < configurations.count else { return .unknownSymbol }
        let configuration = configurations[Int(order.symbol)]
        if history.contains(order.id) { return .duplicateOrderID }
        if order.quantity <= 0 { return .invalidQuantity }
        if order.quantity > Self.maximumQuantity { return .quantityTooLarge }
        if order.kind == .limit {
            if order.price <= 0 { return .invalidPrice }
            if order.price % configuration.tickSize != 0 { return .priceNotOnTick }
        }
        if order.quantity % configuration.lotSize != 0 { return .quantityNotOnLot }
        if order.kind == .limit, let band = configuration.priceBand, !band.contains(order.price) {
            return .outsidePriceBand
        }
        if configuration.halted { return .symbolHalted }
        if order.kind == .limit {
            let opposite = sideOf(order.symbol, order.side.opposite).bestLevel
            if order.postOnly && opposite >= 0 && crosses(order.side, limit: order.price,
                                                          restingPrice: levels[opposite].price) {
                return .postOnlyWouldCross
            }
            if order.timeInForce.rests {
                let level = sideOf(order.symbol, order.side).level(atPrice: order.price)
                if level >= 0 && levels[level].totalQuantity.addingReportingOverflow(order.quantity).overflow {
                    return .quantityTooLarge
                }
            }
        }
        return nil
    }

    @inline(__always)
    private func crosses(_ side: Side, limit: Int64, restingPrice: Int64) -> Bool {
        side == .buy ? restingPrice <= limit : restingPrice >= limit
    }

    @inline(__always)
    private func sideOf(_ symbol: SymbolID, _ side: Side) -> BookSide {
        side == .buy ? books[Int(symbol)].bids : books[Int(symbol)].asks
    }

    /// Trades `quantity` against the opposite side; returns what is left.
    /// Resting orders of the same account are canceled as they are met
    /// (self-trade prevention: cancel the resting order).
    @inline(__always)
    private func match(_ takerID: OrderID, account: AccountID, symbol: SymbolID, side: Side, isMarket: Bool,
                       limit: Int64, quantity: Int64) -> Int64 {
        var remaining = quantity
        let book = books + Int(symbol)
        let isBuy = side == .buy
        while remaining > 0 {
            let levelSlot = isBuy ? book.pointee.asks.bestLevel : book.pointee.bids.bestLevel
            if levelSlot < 0 { break }
            let price = levels[levelSlot].price
            if !isMarket && (isBuy ? price > limit : price < limit) { break }
            var slot = levels[levelSlot].head
            while slot >= 0 && remaining > 0 {
                let maker = orders.base + Int(slot)
                let next = maker.pointee.next
                if maker.pointee.account == account {
                    events.append(MatchEvent(kind: .canceled, side: maker.pointee.side, reason: .selfTrade,
                                             symbol: symbol, orderID: maker.pointee.id,
                                             account: maker.pointee.account, price: price,
                                             quantity: maker.pointee.remaining))
                    levels[levelSlot].totalQuantity -= maker.pointee.remaining
                    popHead(levelSlot, slot)
                } else {
                    let fill = min(remaining, maker.pointee.remaining)
                    remaining -= fill
                    maker.pointee.remaining -= fill
                    levels[levelSlot].totalQuantity -= fill
                    events.append(MatchEvent(kind: .trade, side: side, symbol: symbol, orderID: takerID,
                                             counterOrderID: maker.pointee.id, account: account,
                                             counterAccount: maker.pointee.account, price: price, quantity: fill,
                                             leavesQuantity: remaining,
                                             counterLeavesQuantity: maker.pointee.remaining))
                    if maker.pointee.remaining == 0 { popHead(levelSlot, slot) }
                }
                slot = next
            }
            if levels[levelSlot].orderCount == 0 {
                if isBuy { book.pointee.asks.removeBest() } else { book.pointee.bids.removeBest() }
                levels.free(levelSlot)
            }
        }
        return remaining
    }

    /// Removes the head order of a level during matching (the level itself is
    /// dropped by the caller once empty).
    @inline(__always)
    private func popHead(_ levelSlot: Int32, _ slot: Int32) {
        let next = orders[slot].next
        levels[levelSlot].head = next
        if next >= 0 { orders[next].prev = -1 } else { levels[levelSlot].tail = -1 }
        levels[levelSlot].orderCount -= 1
        index.remove(orders[slot].id)
        orders[slot].live = false
        orders.free(slot)
    }

    /// Whether a fill-or-kill order can fill completely from other accounts'
    /// orders at acceptable prices, without changing anything.
    private func hasLiquidity(for quantity: Int64, side: Side, symbol: SymbolID, account: AccountID,
                              isMarket: Bool, limit: Int64) -> Bool {
        var needed = quantity
        var enough = false
        sideOf(symbol, side.opposite).forEachLevelBestFirst { levelSlot in
            let level = levels[levelSlot]
            if !isMarket && !crosses(side, limit: limit, restingPrice: level.price) { return false }
            var slot = level.head
            while slot >= 0 {
                let order = orders[slot]
                if order.account != account {
                    needed -= order.remaining
                    if needed <= 0 {
                        enough = true
                        return false
                    }
                }
                slot = order.next
            }
            return true
        }
        return enough
    }

    /// Appends an order (already in the pool) to the back of its price level.
    @inline(__always)
    private func rest(_ slot: Int32) {
        let order = orders[slot]
        let book = books + Int(order.symbol)
        let existing = order.side == .buy
            ? book.pointee.bids.level(atPrice: order.price) : book.pointee.asks.level(atPrice: order.price)
        let levelSlot: Int32
        if existing >= 0 {
            levelSlot = existing
            let tail = levels[levelSlot].tail
            orders[slot].prev = tail
            orders[slot].next = -1
            if tail >= 0 { orders[tail].next = slot } else { levels[levelSlot].head = slot }
            levels[levelSlot].tail = slot
            levels[levelSlot].orderCount += 1
            levels[levelSlot].totalQuantity += order.remaining
        } else {
            levelSlot = levels.allocate(LevelRecord(price: order.price, totalQuantity: order.remaining,
                                                     head: slot, tail: slot, orderCount: 1))
            orders[slot].prev = -1
            orders[slot].next = -1
            if order.side == .buy {
                book.pointee.bids.insert(price: order.price, level: levelSlot)
            } else {
                book.pointee.asks.insert(price: order.price, level: levelSlot)
            }
        }
        orders[slot].level = levelSlot
    }

    /// Takes a resting order out of its level (dropping the level when it empties)
    /// but keeps its slot and index entry.
    private func unlink(_ slot: Int32) {
        let order = orders[slot]
        let levelSlot = order.level
        if order.prev >= 0 { orders[order.prev].next = order.next } else { levels[levelSlot].head = order.next }
        if order.next >= 0 { orders[order.next].prev = order.prev } else { levels[levelSlot].tail = order.prev }
        levels[levelSlot].orderCount -= 1
        levels[levelSlot].totalQuantity -= order.remaining
        orders[slot].level = -1
        if levels[levelSlot].orderCount == 0 {
            let book = books + Int(order.symbol)
            if order.side == .buy {
                book.pointee.bids.remove(price: order.price)
            } else {
                book.pointee.asks.remove(price: order.price)
            }
            levels.free(levelSlot)
        }
    }

    private func removeResting(_ slot: Int32) {
        unlink(slot)
        index.remove(orders[slot].id)
        orders[slot].live = false
        orders.free(slot)
    }

    private func cancelResting(_ slot: Int32, reason: MatchReason) {
        let order = orders[slot]
        events.append(MatchEvent(kind: .canceled, side: order.side, reason: reason, symbol: order.symbol,
                                 orderID: order.id, account: order.account, price: order.price,
                                 quantity: order.remaining))
        removeResting(slot)
    }

    /// Live order slots that satisfy `include`, in ascending order id: the order
    /// in which bulk commands report, independent of pool layout.
    private func liveSlots(where include: (OrderRecord) -> Bool) -> [Int32] {
        var found: [(OrderID, Int32)] = []
        for slot in 0..<orders.highWater {
            let order = orders[Int32(slot)]
            if order.live && include(order) { found.append((order.id, Int32(slot))) }
        }
        found.sort { $0.0 < $1.0 }
        return found.map(\.1)
    }

    private func reject(_ orderID: OrderID, side: Side, symbol: SymbolID, account: AccountID, hasPrice: Bool,
                        price: Int64, quantity: Int64, reason: MatchReason) {
        events.append(MatchEvent(kind: .rejected, side: side, reason: reason, hasPrice: hasPrice, symbol: symbol,
                                 orderID: orderID, account: account, price: price, quantity: quantity))
    }

    private func expire(_ orderID: OrderID, side: Side, symbol: SymbolID, account: AccountID, hasPrice: Bool,
                        price: Int64, quantity: Int64) {
        events.append(MatchEvent(kind: .expired, side: side, hasPrice: hasPrice, symbol: symbol, orderID: orderID,
                                 account: account, price: price, quantity: quantity))
    }

    // MARK: - Self-check

    /// Every structural invariant of every book, as human-readable violations
    /// (empty when sound): no crossed book, strictly ordered levels, level totals
    /// and counts equal to their orders, every resting order indexed.
    public func invariantViolations() -> [String] {
        var problems: [String] = []
        var seen = 0
        for s in 0..<configurations.count {
            let book = books[s]
            for (name, side) in [("bid", book.bids), ("ask", book.asks)] {
                var previousPrice: Int64?
                var levelCount = 0
                side.forEachLevelBestFirst { levelSlot in
                    levelCount += 1
                    let level = levels[levelSlot]
                    if let previousPrice, !side.isBetter(previousPrice, than: level.price) {
                        problems.append("\(name) levels out of order at \(level.price)")
                    }
                    previousPrice = level.price
                    if side.level(atPrice: level.price) != levelSlot {
                        problems.append("\(name) level \(level.price) not found by price")
                    }
                    var total: Int64 = 0
                    var count: Int32 = 0
                    var slot = level.head
                    var previous: Int32 = -1
                    while slot >= 0 {
                        let order = orders[slot]
                        if !order.live { problems.append("dead order \(order.id) in a level") }
                        if order.prev != previous { problems.append("broken links at order \(order.id)") }
                        if order.price != level.price { problems.append("order \(order.id) at wrong level") }
                        if order.remaining <= 0 { problems.append("order \(order.id) rests with nothing left") }
                        if index.find(order.id) != slot { problems.append("order \(order.id) not indexed") }
                        total += order.remaining
                        count += 1
                        previous = slot
                        slot = order.next
                    }
                    if level.tail != previous { problems.append("\(name) level \(level.price) tail wrong") }
                    if total != level.totalQuantity { problems.append("\(name) level \(level.price) total wrong") }
                    if count != level.orderCount || count == 0 {
                        problems.append("\(name) level \(level.price) count wrong")
                    }
                    seen += Int(count)
                    return true
                }
                if levelCount != side.count { problems.append("\(name) side counts \(side.count) levels, \(levelCount) reachable") }
            }
            let bid = book.bids.bestLevel
            let ask = book.asks.bestLevel
            if bid >= 0 && ask >= 0 && levels[bid].price >= levels[ask].price {
                problems.append("book \(configurations[s].symbol) crossed: \(levels[bid].price) >= \(levels[ask].price)")
            }
        }
        if seen != orders.liveCount { problems.append("\(orders.liveCount) live orders but \(seen) in books") }
        if index.count != orders.liveCount { problems.append("index holds \(index.count), \(orders.liveCount) live") }
        return problems
    }
}
