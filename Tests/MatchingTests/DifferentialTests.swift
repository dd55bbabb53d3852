import Matching
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Random command streams through the engine and the reference model; every event
/// must match exactly, and the book invariants must hold after every step.
/// `MATCHING_SEED=N swift test --filter Differential` replays one seed.
@Suite("Differential: engine vs reference model")
struct DifferentialTests {
    static var seeds: [UInt64] {
        if let text = getenv("MATCHING_SEED").map({ String(cString: $0) }), let seed = UInt64(text) {
            return [seed]
        }
        return Array(1...300)
    }

    @Test("events match the reference model exactly", arguments: seeds)
    func eventsMatchReference(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let engine = MatchingEngine(expectedRestingOrders: 16)
        let reference = ReferenceEngine()
        let symbolCount = 1 + Int(rng.below(4))
        for s in 0..<symbolCount {
            let tick: Int64 = s == 1 ? 5 : 1
            let lot: Int64 = s == 2 ? 10 : 1
            let band: ClosedRange<Int64>? = s == 3 ? 80...120 : nil
            let configuration = SymbolConfiguration(symbol: "S\(s)", tickSize: tick, lotSize: lot, priceBand: band)
            _ = try engine.addSymbol(configuration)
            _ = reference.addSymbol(configuration)
        }
        var accounting = OrderAccounting()
        var nextID: OrderID = 1
        let steps = 1_500
        for step in 0..<steps {
            let command = randomCommand(&rng, symbolCount: symbolCount, nextID: &nextID)
            apply(command, engine, reference)
            let expected = reference.events
            let actual = engine.events
            if actual != expected {
                let firstDifference = zip(actual, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                    ?? min(actual.count, expected.count)
                Issue.record("""
                    seed \(seed), step \(step): \(command)
                    first difference at event \(firstDifference)
                    engine:    \(actual.dropFirst(firstDifference).prefix(3))
                    reference: \(expected.dropFirst(firstDifference).prefix(3))
                    replay with MATCHING_SEED=\(seed)
                    """)
                return
            }
            accounting.observe(actual)
            reference.events.removeAll()
            engine.removeAllEvents()

            let violations = engine.invariantViolations() + accounting.violations(engine)
            if !violations.isEmpty {
                Issue.record("seed \(seed), step \(step): \(violations.prefix(5)) (replay with MATCHING_SEED=\(seed))")
                return
            }
        }
        for s in 0..<symbolCount {
            for side in [Side.buy, .sell] {
                #expect(engine.restingOrders(SymbolID(s), side: side) == reference.restingOrders(SymbolID(s), side: side),
                        "seed \(seed): final book of S\(s) \(side) differs")
            }
        }
    }

    enum Command: CustomStringConvertible {
        case submit(NewOrder)
        case cancel(OrderID)
        case replace(OrderID, Int64, Int64)
        case massCancel(AccountID, SymbolID?)
        case endOfDay
        case halt(SymbolID, Bool)

        var description: String {
            switch self {
            case let .submit(o):
                return "submit id=\(o.id) acct=\(o.account) sym=\(o.symbol) \(o.side) \(o.kind) px=\(o.price) qty=\(o.quantity) \(o.timeInForce)\(o.postOnly ? " post-only" : "")"
            case let .cancel(id): return "cancel \(id)"
            case let .replace(id, p, q): return "replace \(id) px=\(p) qty=\(q)"
            case let .massCancel(a, s): return "mass cancel acct=\(a) sym=\(s.map(String.init) ?? "all")"
            case .endOfDay: return "end of day"
            case let .halt(s, h): return h ? "halt \(s)" : "resume \(s)"
            }
        }
    }

    func randomCommand(_ rng: inout SeededGenerator, symbolCount: Int, nextID: inout OrderID) -> Command {
        let roll = rng.below(1_000)
        let symbol = SymbolID(rng.below(UInt64(symbolCount)))
        // Existing ids (live or dead) come back often, to exercise duplicates,
        // unknown cancels and replaces of filled orders.
        let someID: OrderID = nextID > 1 && rng.below(10) < 8 ? nextID - 1 - rng.below(min(nextID - 1, 40)) : nextID + 5
        let price = { (rng: inout SeededGenerator) -> Int64 in
            // Now and then an invalid or out-of-band price; symbol 1 trades on a 5-tick grid.
            if rng.below(20) == 0 { return Int64(rng.below(3)) - 1 }
            // Rarely a price that makes the book's ladder grow, or one too far
            // from the rest for the ladder at all (kept in the far levels).
            let far = rng.below(60)
            let p = far == 0 ? 100_000 + Int64(rng.below(3)) * 50_000
                : far == 1 ? 95 + Int64(rng.below(5_000))
                : 95 + Int64(rng.below(11))
            if symbol == 1 { return rng.below(10) == 0 ? p * 5 + 2 : p * 5 }
            return p
        }
        let quantity = { (rng: inout SeededGenerator) -> Int64 in
            if rng.below(30) == 0 { return -Int64(rng.below(2)) }
            let q = Int64(rng.below(12)) + 1
            // Symbol 2 trades in lots of 10; sometimes an order ignores that.
            return symbol == 2 && rng.below(5) != 0 ? q * 10 : q
        }
        switch roll {
        case 0..<560:
            let kindRoll = rng.below(100)
            let tif: TimeInForce = [.goodTillCancel, .goodTillCancel, .day, .immediateOrCancel, .fillOrKill][Int(rng.below(5))]
            let isMarket = kindRoll < 8
            let id = rng.below(25) == 0 ? someID : nextID
            if id == nextID { nextID += 1 }
            let order = NewOrder(id: id, account: rng.below(4) + 1,
                                 symbol: rng.below(60) == 0 ? SymbolID(symbolCount) : symbol,
                                 side: rng.below(2) == 0 ? .buy : .sell, kind: isMarket ? .market : .limit,
                                 price: isMarket ? 0 : price(&rng), quantity: quantity(&rng),
                                 timeInForce: isMarket ? .immediateOrCancel : tif,
                                 postOnly: !isMarket && rng.below(15) == 0)
            return .submit(order)
        case 560..<700:
            return .cancel(someID)
        case 700..<960:
            return .replace(someID, price(&rng), quantity(&rng))
        case 960..<975:
            return .massCancel(rng.below(4) + 1, rng.below(2) == 0 ? nil : symbol)
        case 975..<985:
            return .endOfDay
        default:
            return .halt(symbol, rng.below(2) == 0)
        }
    }

    func apply(_ command: Command, _ engine: MatchingEngine, _ reference: ReferenceEngine) {
        switch command {
        case let .submit(order):
            engine.submit(order)
            reference.submit(order)
        case let .cancel(id):
            engine.cancel(id)
            reference.cancel(id)
        case let .replace(id, price, quantity):
            engine.replace(id, price: price, quantity: quantity)
            reference.replace(id, price: price, quantity: quantity)
        case let .massCancel(account, symbol):
            engine.massCancel(account: account, symbol: symbol)
            reference.massCancel(account: account, symbol: symbol)
        case .endOfDay:
            engine.endOfDay()
            reference.endOfDay()
        case let .halt(symbol, halted):
            _ = engine.setHalted(halted, symbol: symbol)
            reference.setHalted(halted, symbol: symbol)
        }
    }
}

/// Per-order quantity accounting from the event stream alone: for every order,
/// quantity in (accepted, plus replace changes) equals filled + canceled/expired +
/// still resting, and "still resting" is what the engine reports.
struct OrderAccounting {
    var open: [OrderID: Int64] = [:]

    mutating func observe(_ events: [MatchEvent]) {
        for event in events {
            switch event.kind {
            case .accepted:
                open[event.orderID] = event.quantity
            case .replaced:
                open[event.orderID] = event.quantity
            case .trade:
                open[event.orderID, default: 0] -= event.quantity
                open[event.counterOrderID, default: 0] -= event.quantity
            case .canceled, .expired:
                open[event.orderID, default: 0] -= event.quantity
            case .rejected:
                break
            }
        }
        // An order with nothing open is done for good: ids are never reused.
        open = open.filter { $0.value != 0 }
    }

    func violations(_ engine: MatchingEngine) -> [String] {
        var problems: [String] = []
        for (id, quantity) in open {
            let resting = engine.restingOrder(id)?.remainingQuantity ?? 0
            if quantity != resting {
                problems.append("order \(id): events leave \(quantity) open, engine rests \(resting)")
            }
        }
        return problems
    }
}
