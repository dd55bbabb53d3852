/// A small, fast, seedable generator (SplitMix64): benchmarks and simulations must
/// replay exactly from a printed seed, which `SystemRandomNumberGenerator` cannot.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<bound` (bound > 0), without the cost of the generic API.
    @inline(__always)
    public mutating func below(_ bound: UInt64) -> UInt64 {
        UInt64((UInt128(next()) * UInt128(bound)) >> 64)
    }
}

/// One engine command, flat so that millions fit in an array and replay without
/// allocation.
public struct MatchingCommand: Sendable, Hashable {
    public enum Kind: UInt8, Sendable { case submit, cancel, replace, endOfDay }

    public var kind: Kind
    public var order: NewOrder

    public static func submit(_ order: NewOrder) -> MatchingCommand { MatchingCommand(kind: .submit, order: order) }

    public static func cancel(_ id: OrderID) -> MatchingCommand {
        MatchingCommand(kind: .cancel, order: NewOrder(id: id, account: 0, symbol: 0, side: .buy, price: 0, quantity: 0))
    }

    public static func replace(_ id: OrderID, price: Int64, quantity: Int64) -> MatchingCommand {
        MatchingCommand(kind: .replace,
                        order: NewOrder(id: id, account: 0, symbol: 0, side: .buy, price: price, quantity: quantity))
    }
}

extension MatchingEngine {
    /// Applies one command; the events land in `events` as usual.
    @inline(__always)
    public func apply(_ command: MatchingCommand) {
        switch command.kind {
        case .submit: submit(command.order)
        case .cancel: cancel(command.order.id)
        case .replace: replace(command.order.id, price: command.order.price, quantity: command.order.quantity)
        case .endOfDay: endOfDay()
        }
    }
}

/// Generated order flow for benchmarks: a setup phase that builds the books
/// (untimed) and a measured phase. Generation runs its own engine to know which
/// orders are live, so cancels and moves hit real orders exactly as they will when
/// the commands are replayed on a fresh engine.
public struct MatchingWorkload: Sendable {
    public enum Mix: String, Sendable, CaseIterable {
        /// The published exchange-core mix: 9 % GTC, 3 % IOC, 6 % cancel, 82 % move,
        /// ~1,000 resting orders over ~750 levels, 1,000 accounts.
        case exchangeCore = "exchange-core"
        /// 10 symbols with 100,000 resting orders each; market orders sweep many levels.
        case deep
    }

    public var mix: Mix
    public var seed: UInt64
    public var symbols: [SymbolConfiguration]
    public var setup: [MatchingCommand]
    public var measured: [MatchingCommand]

    public static func generate(_ mix: Mix, orders: Int, seed: UInt64) -> MatchingWorkload {
        switch mix {
        case .exchangeCore: return exchangeCore(orders: orders, seed: seed)
        case .deep: return deep(orders: orders, seed: seed)
        }
    }

    /// A fresh engine with the workload's symbols listed and its setup applied.
    public func makeEngine() -> MatchingEngine {
        let engine = MatchingEngine(expectedRestingOrders: mix == .deep ? 1_200_000 : 4096)
        for symbol in symbols { _ = try? engine.addSymbol(symbol) }
        for command in setup {
            engine.apply(command)
            engine.removeAllEvents()
        }
        return engine
    }

    /// Tracks which generated orders are live, from the engine's own events.
    private struct LiveOrders {
        var ids: [OrderID] = []
        var positions: [OrderID: Int] = [:]

        mutating func add(_ id: OrderID) {
            positions[id] = ids.count
            ids.append(id)
        }

        mutating func remove(_ id: OrderID) {
            guard let position = positions.removeValue(forKey: id) else { return }
            let last = ids.removeLast()
            if position < ids.count {
                ids[position] = last
                positions[last] = position
            }
        }

        mutating func observe(_ engine: MatchingEngine) {
            for event in engine.events {
                switch event.kind {
                case .accepted: add(event.orderID)
                case .trade:
                    if event.counterLeavesQuantity == 0 { remove(event.counterOrderID) }
                    if event.leavesQuantity == 0 { remove(event.orderID) }
                case .canceled, .expired: remove(event.orderID)
                case .replaced:
                    if event.leavesQuantity == 0 { remove(event.orderID) }
                case .rejected: break
                }
            }
            engine.removeAllEvents()
        }
    }

    static func exchangeCore(orders: Int, seed: UInt64) -> MatchingWorkload {
        var rng = SeededGenerator(seed: seed)
        let symbol = SymbolConfiguration(symbol: "XCORE")
        let engine = MatchingEngine(expectedRestingOrders: 4096)
        _ = try? engine.addSymbol(symbol)
        var live = LiveOrders()
        var nextID: OrderID = 1
        let mid: Int64 = 100_000
        let targetBook = 1_000
        let halfRange: UInt64 = 1000

        func newLimit(_ rng: inout SeededGenerator, aggressive: Bool, tif: TimeInForce) -> MatchingCommand {
            let side: Side = rng.below(2) == 0 ? .buy : .sell
            let offset = Int64(rng.below(halfRange)) + 1
            let price: Int64
            if aggressive {
                price = side == .buy ? mid + Int64(rng.below(8)) : mid - Int64(rng.below(8))
            } else {
                price = side == .buy ? mid - offset : mid + offset
            }
            let quantity = Int64(rng.below(100)) + 1
            defer { nextID += 1 }
            return .submit(.limit(nextID, account: rng.below(1_000) + 1, symbol: 0, side, price: price,
                                  quantity: quantity, tif))
        }

        var setup: [MatchingCommand] = []
        while live.ids.count < targetBook {
            let command = newLimit(&rng, aggressive: false, tif: .goodTillCancel)
            setup.append(command)
            engine.apply(command)
            live.observe(engine)
        }

        var measured: [MatchingCommand] = []
        measured.reserveCapacity(orders)
        while measured.count < orders {
            let roll = rng.below(100)
            let command: MatchingCommand
            // The book hovers around its target size: adds cross more often when it
            // is over, cancels turn into passive adds when it is under.
            let under = live.ids.count < targetBook * 9 / 10
            let over = live.ids.count > targetBook * 11 / 10
            if roll < 9 || live.ids.isEmpty || (under && roll < 18) {
                command = newLimit(&rng, aggressive: !under && rng.below(100) < (over ? 80 : 55),
                                   tif: .goodTillCancel)
            } else if roll < 12 {
                command = newLimit(&rng, aggressive: true, tif: .immediateOrCancel)
            } else if roll < 18 {
                command = .cancel(live.ids[Int(rng.below(UInt64(live.ids.count)))])
            } else {
                // A move: same quantity, a price a few ticks away; some cross.
                let id = live.ids[Int(rng.below(UInt64(live.ids.count)))]
                guard let order = engine.restingOrder(id) else { continue }
                let step = Int64(rng.below(6)) + 1
                let towardSpread = rng.below(100) < 55
                var price = order.side == .buy
                    ? (towardSpread ? order.price + step : order.price - step)
                    : (towardSpread ? order.price - step : order.price + step)
                // Stay inside the band around the mid, as the published mix does.
                price = min(max(price, mid - Int64(halfRange) - 8), mid + Int64(halfRange) + 8)
                if price == order.price { price += order.side == .buy ? -1 : 1 }
                command = .replace(id, price: price, quantity: order.remainingQuantity)
            }
            measured.append(command)
            engine.apply(command)
            live.observe(engine)
        }
        return MatchingWorkload(mix: .exchangeCore, seed: seed, symbols: [symbol], setup: setup, measured: measured)
    }

    static func deep(orders: Int, seed: UInt64) -> MatchingWorkload {
        var rng = SeededGenerator(seed: seed)
        let symbolCount = 10
        let perBook = 100_000
        let levelsPerSide: UInt64 = 5_000
        let mid: Int64 = 1_000_000
        let symbols = (0..<symbolCount).map { SymbolConfiguration(symbol: "DEEP\($0)") }
        let engine = MatchingEngine(expectedRestingOrders: symbolCount * perBook + 100_000)
        for symbol in symbols { _ = try? engine.addSymbol(symbol) }
        var live = [LiveOrders](repeating: LiveOrders(), count: symbolCount)
        var nextID: OrderID = 1

        func passive(_ rng: inout SeededGenerator, symbol: Int) -> MatchingCommand {
            let side: Side = rng.below(2) == 0 ? .buy : .sell
            let offset = Int64(rng.below(levelsPerSide)) + 1
            let price = side == .buy ? mid - offset : mid + offset
            defer { nextID += 1 }
            return .submit(.limit(nextID, account: rng.below(10_000) + 1, symbol: SymbolID(symbol), side,
                                  price: price, quantity: Int64(rng.below(100)) + 1))
        }

        var setup: [MatchingCommand] = []
        setup.reserveCapacity(symbolCount * perBook)
        for s in 0..<symbolCount {
            while live[s].ids.count < perBook {
                let command = passive(&rng, symbol: s)
                setup.append(command)
                engine.apply(command)
                live[s].observe(engine)
            }
        }

        var measured: [MatchingCommand] = []
        measured.reserveCapacity(orders)
        while measured.count < orders {
            let s = Int(rng.below(UInt64(symbolCount)))
            // Adds balance what sweeps and cancels take, so each book stays near
            // its size: 0.5 % sweeps of ~150 orders, 10 % cancels, the rest adds.
            let roll = rng.below(1_000)
            let command: MatchingCommand
            if roll < 5 {
                // A sweep: a market order big enough to take many levels.
                let side: Side = rng.below(2) == 0 ? .buy : .sell
                let quantity = Int64(rng.below(11_000)) + 2_000
                command = .submit(.market(nextID, account: rng.below(10_000) + 1, symbol: SymbolID(s), side,
                                          quantity: quantity))
                nextID += 1
            } else if roll < 105, !live[s].ids.isEmpty {
                command = .cancel(live[s].ids[Int(rng.below(UInt64(live[s].ids.count)))])
            } else {
                command = passive(&rng, symbol: s)
            }
            measured.append(command)
            engine.apply(command)
            live[s].observe(engine)
        }
        return MatchingWorkload(mix: .deep, seed: seed, symbols: symbols, setup: setup, measured: measured)
    }
}

extension MatchingWorkload {
    /// Writes setup and measured commands as an order file in the replay format, so
    /// `clearledger match` can replay exactly what the benchmark runs.
    public func writeOrderFile(into writer: inout EventCSVWriter) {
        writer.writeString(OrderReplay.inputHeader + "\n")
        let names = symbols.map { Array($0.symbol.utf8) }
        var seq: Int64 = 0
        for command in setup + measured {
            seq += 1
            writer.writeInteger(seq)
            let order = command.order
            switch command.kind {
            case .submit:
                writer.writeString(order.kind == .market ? ",MARKET," : ",LIMIT,")
                writer.writeUnsigned(order.id)
                writer.writeByte(UInt8(ascii: ","))
                writer.writeUnsigned(order.account)
                writer.writeByte(UInt8(ascii: ","))
                writer.writeBytes(names[Int(order.symbol)])
                writer.writeString(order.side == .buy ? ",BUY," : ",SELL,")
                if order.kind == .limit { writer.writeInteger(order.price) }
                writer.writeByte(UInt8(ascii: ","))
                writer.writeInteger(order.quantity)
                writer.writeByte(UInt8(ascii: ","))
                if order.kind == .limit { writer.writeString(order.timeInForce.description) }
            case .cancel:
                writer.writeString(",CANCEL,")
                writer.writeUnsigned(order.id)
                writer.writeString(",,,,,,")
            case .replace:
                writer.writeString(",REPLACE,")
                writer.writeUnsigned(order.id)
                writer.writeString(",,,,")
                writer.writeInteger(order.price)
                writer.writeByte(UInt8(ascii: ","))
                writer.writeInteger(order.quantity)
                writer.writeByte(UInt8(ascii: ","))
            case .endOfDay:
                writer.writeString(",END_OF_DAY,,,,,,,")
            }
            writer.writeByte(0x0A)
        }
        writer.flush()
    }
}
