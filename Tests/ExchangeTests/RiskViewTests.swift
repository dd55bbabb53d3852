import Exchange
import Matching
import Testing

@Suite("Risk view: reservations against the finalized ledger")
struct RiskViewTests {
    let acme: UInt32 = 1

    func funded() -> RiskView {
        var view = RiskView()
        view.setLedgerBalance(1_000, account: 1, asset: .security(acme))   // seller's shares
        view.setLedgerBalance(100_000, account: 2, asset: .cash)           // buyer's cash
        return view
    }

    @Test func aSellReservesSharesAndCannotOversell() throws {
        var view = funded()
        try view.reserve(order: 1, account: 1, side: .sell, security: acme, price: 50, quantity: 600)
        #expect(view.available(account: 1, asset: .security(acme)) == 400)
        #expect(throws: RiskError.insufficient(account: 1, asset: .security(acme), needed: 500, available: 400)) {
            try view.reserve(order: 2, account: 1, side: .sell, security: acme, price: 50, quantity: 500)
        }
        #expect(view.available(account: 1, asset: .security(acme)) == 400)
        #expect(view.reservedOrderCount == 1)
    }

    @Test func aBuyReservesAtItsLimitAndGetsPriceImprovementBackOnFill() throws {
        var view = funded()
        try view.reserve(order: 7, account: 2, side: .buy, security: acme, price: 100, quantity: 500, cashPerTick: 2)
        #expect(view.available(account: 2, asset: .cash) == 0)                 // 500 × 100 × 2
        try view.fill(order: 7, quantity: 200, price: 90, cashPerTick: 2)      // costs 36,000, reserved 40,000
        #expect(view.available(account: 2, asset: .cash) == 4_000)
        #expect(view.reservation(of: 7)?.amount == 60_000)
        // The trade settles: the ledger moves, the obligation is gone.
        try view.finalize(buyer: 2, seller: 1, security: acme, quantity: 200, price: 90, cashPerTick: 2, settled: true)
        #expect(view.ledgerBalance(account: 2, asset: .cash) == 64_000)
        #expect(view.ledgerBalance(account: 2, asset: .security(acme)) == 200)
        #expect(view.ledgerBalance(account: 1, asset: .cash) == 36_000)
        #expect(view.available(account: 2, asset: .cash) == 4_000)
    }

    @Test func proceedsOfAnUnsettledTradeAreNotSpendable() throws {
        var view = funded()
        try view.reserve(order: 1, account: 1, side: .sell, security: acme, price: 50, quantity: 100)
        try view.fill(order: 1, quantity: 100, price: 50)
        #expect(view.available(account: 1, asset: .cash) == 0)
        #expect(view.available(account: 1, asset: .security(acme)) == 900)
        try view.finalize(buyer: 2, seller: 1, security: acme, quantity: 100, price: 50, settled: true)
        #expect(view.available(account: 1, asset: .cash) == 5_000)
    }

    @Test func aFailedSettlementGivesEverythingBack() throws {
        var view = funded()
        try view.reserve(order: 1, account: 1, side: .sell, security: acme, price: 50, quantity: 100)
        try view.reserve(order: 2, account: 2, side: .buy, security: acme, price: 50, quantity: 100)
        try view.fill(order: 1, quantity: 100, price: 50)
        try view.fill(order: 2, quantity: 100, price: 50)
        try view.finalize(buyer: 2, seller: 1, security: acme, quantity: 100, price: 50, settled: false)
        #expect(view.available(account: 1, asset: .security(acme)) == 1_000)
        #expect(view.available(account: 2, asset: .cash) == 100_000)
        #expect(view.ledgerBalance(account: 2, asset: .security(acme)) == 0)
    }

    @Test func cancelReleasesAndReplaceIsCheckedLikeANewOrder() throws {
        var view = funded()
        try view.reserve(order: 3, account: 2, side: .buy, security: acme, price: 100, quantity: 400)
        #expect(throws: RiskError.insufficient(account: 2, asset: .cash, needed: 110_000, available: 100_000)) {
            try view.replace(order: 3, price: 110, quantity: 1_000)
        }
        #expect(view.reservation(of: 3)?.amount == 40_000)
        try view.replace(order: 3, price: 100, quantity: 1_000)
        #expect(view.available(account: 2, asset: .cash) == 0)
        view.release(order: 3)
        #expect(view.available(account: 2, asset: .cash) == 100_000)
        #expect(view.reservedOrderCount == 0)
        view.release(order: 3)   // twice is harmless
        #expect(view.available(account: 2, asset: .cash) == 100_000)
    }

    @Test func overflowIsAnErrorAndChangesNothing() throws {
        var view = funded()
        #expect(throws: RiskError.overflow(field: "reservation")) {
            try view.reserve(order: 1, account: 2, side: .buy, security: acme, price: Int64.max / 2, quantity: 3)
        }
        #expect(throws: RiskError.overflow(field: "price × cashPerTick")) {
            try view.reserve(order: 1, account: 2, side: .buy, security: acme, price: Int64.max, quantity: 1,
                             cashPerTick: 2)
        }
        #expect(view.available(account: 2, asset: .cash) == 100_000)
        #expect(view.reservedOrderCount == 0)
    }

    /// Random orders, fills, replaces, cancels and settlements: no account can ever
    /// commit more than the ledger holds, and what the view reports always equals
    /// a recomputation from scratch.
    @Test("random lifecycles never overdraw", arguments: 1...20)
    func randomLifecyclesNeverOverdraw(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        var view = RiskView()
        let accounts: [AccountID] = [1, 2, 3, 4]
        for account in accounts {
            view.setLedgerBalance(Int64(rng.below(5_000)), account: account, asset: .security(acme))
            view.setLedgerBalance(Int64(rng.below(500_000)), account: account, asset: .cash)
        }
        struct Open { var id: OrderID; var account: AccountID; var side: Side; var price: Int64; var left: Int64 }
        var open: [Open] = []
        var pending: [(buyer: AccountID, seller: AccountID, quantity: Int64, price: Int64)] = []
        var nextID: OrderID = 1
        for step in 0..<2_000 {
            switch rng.below(10) {
            case 0..<4:
                let order = Open(id: nextID, account: accounts[Int(rng.below(4))], side: rng.below(2) == 0 ? .buy : .sell,
                                 price: 1 + Int64(rng.below(200)), left: 1 + Int64(rng.below(500)))
                nextID += 1
                if (try? view.reserve(order: order.id, account: order.account, side: order.side, security: acme,
                                      price: order.price, quantity: order.left)) != nil {
                    open.append(order)
                }
            case 4..<7 where open.count >= 2:
                // A buy and a sell of different accounts trade at the sell's price if it is not above the buy's.
                guard let b = open.firstIndex(where: { $0.side == .buy }),
                      let s = open.firstIndex(where: { $0.side == .sell && $0.account != open[b].account && $0.price <= open[b].price })
                else { continue }
                let quantity = min(open[b].left, open[s].left)
                let price = open[s].price
                try view.fill(order: open[b].id, quantity: quantity, price: price)
                try view.fill(order: open[s].id, quantity: quantity, price: price)
                pending.append((open[b].account, open[s].account, quantity, price))
                open[b].left -= quantity
                open[s].left -= quantity
                open.removeAll { $0.left == 0 }
            case 7 where !open.isEmpty:
                let i = Int(rng.below(UInt64(open.count)))
                let price = 1 + Int64(rng.below(200))
                let quantity = 1 + Int64(rng.below(500))
                if (try? view.replace(order: open[i].id, price: price, quantity: quantity)) != nil {
                    open[i].price = price
                    open[i].left = quantity
                }
            case 8 where !open.isEmpty:
                let i = Int(rng.below(UInt64(open.count)))
                view.release(order: open[i].id)
                open.remove(at: i)
            default:
                guard !pending.isEmpty else { continue }
                let trade = pending.removeFirst()
                try view.finalize(buyer: trade.buyer, seller: trade.seller, security: acme, quantity: trade.quantity,
                                  price: trade.price, settled: rng.below(5) != 0)
            }
            for account in accounts {
                for asset in [Asset.cash, .security(acme)] {
                    let available = view.available(account: account, asset: asset)
                    #expect(available >= 0, "seed \(seed) step \(step): account \(account) \(asset) at \(available)")
                    let reservedHere = open.filter { $0.account == account }
                        .compactMap { view.reservation(of: $0.id) }.filter { $0.asset == asset }
                        .reduce(Int64(0)) { $0 + $1.amount }
                    let owed = pending.reduce(Int64(0)) { total, trade in
                        switch asset {
                        case .cash: return total + (trade.buyer == account ? trade.quantity * trade.price : 0)
                        case .security: return total + (trade.seller == account ? trade.quantity : 0)
                        }
                    }
                    #expect(available == view.ledgerBalance(account: account, asset: asset) - reservedHere - owed,
                            "seed \(seed) step \(step): account \(account) \(asset)")
                    if available < 0 { return }
                }
            }
        }
    }
}
