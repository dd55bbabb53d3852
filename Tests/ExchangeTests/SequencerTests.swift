import Exchange
import Matching
import Testing

@Suite("Sequencer: risk, matching and settlement batches")
struct SequencerTests {
    func key(_ session: String, _ id: String) -> ClientOrderKey { ClientOrderKey(session: session, clOrdID: id) }

    func makeSequencer(batchSize: Int = 100) throws -> Sequencer {
        var risk = RiskView()
        risk.setLedgerBalance(1_000, account: 1, asset: .security(7))
        risk.setLedgerBalance(10_000, account: 2, asset: .cash)
        return try Sequencer(listings: [ListedSecurity(securityID: 7, configuration: SymbolConfiguration(symbol: "ACME"))],
                             risk: risk, batchSize: batchSize)
    }

    func reports(_ outputs: [ExchangeOutput]) -> [OrderReport] {
        outputs.compactMap { if case let .report(r) = $0 { return r } else { return nil } }
    }

    @Test func twoParticipantsCrossAndTheTradeIsBatchedForSettlement() throws {
        let s = try makeSequencer()
        let sell = s.handle(.newOrder(key: key("S1", "a"), account: 1, symbol: "ACME", side: .sell, kind: .limit,
                                      price: 50, quantity: 100, timeInForce: .goodTillCancel))
        #expect(reports(sell).map(\.kind) == [.new])
        let buy = s.handle(.newOrder(key: key("S2", "b"), account: 2, symbol: "ACME", side: .buy, kind: .limit,
                                     price: 55, quantity: 100, timeInForce: .goodTillCancel))
        let r = reports(buy)
        #expect(r.map(\.kind) == [.new, .trade, .trade])
        #expect(r[1].key == key("S2", "b") && r[1].lastQuantity == 100 && r[1].lastPrice == 50 && r[1].leavesQuantity == 0)
        #expect(r[2].key == key("S1", "a") && r[2].cumulativeQuantity == 100 && r[2].notional == 5_000)
        #expect(r[1].tradeID == r[2].tradeID)
        // Price improvement came back; the obligation stays until settlement.
        #expect(s.risk.available(account: 2, asset: .cash) == 5_000)
        guard case let .settlementBatch(trades)? = s.flush() else {
            Issue.record("no batch")
            return
        }
        #expect(trades.count == 1)
        let trade = try #require(trades.first)
        #expect(trade.buyer == 2 && trade.seller == 1 && trade.quantity == 100 && trade.price == 50 && trade.securityID == 7)
        try s.settled(trade, success: true)
        #expect(s.risk.ledgerBalance(account: 2, asset: .security(7)) == 100)
        #expect(s.risk.ledgerBalance(account: 1, asset: .cash) == 5_000)
        #expect(s.flush() == nil)
    }

    @Test func anOrderThatWouldOverdrawIsRejectedAndNeverReachesTheBook() throws {
        let s = try makeSequencer()
        let out = s.handle(.newOrder(key: key("S2", "x"), account: 2, symbol: "ACME", side: .buy, kind: .limit,
                                     price: 101, quantity: 100, timeInForce: .goodTillCancel))
        #expect(reports(out).map(\.kind) == [.rejected("account 2: cash needed 10100, available 10000")])
        #expect(s.engine.restingOrderCount == 0)
        let oversell = s.handle(.newOrder(key: key("S1", "y"), account: 1, symbol: "ACME", side: .sell, kind: .limit,
                                          price: 1, quantity: 1_001, timeInForce: .goodTillCancel))
        #expect(reports(oversell).first?.kind == .rejected("account 1: security 7 needed 1001, available 1000"))
    }

    @Test func duplicateClOrdIDAndUnknownSymbolAreRejected() throws {
        let s = try makeSequencer()
        _ = s.handle(.newOrder(key: key("S1", "a"), account: 1, symbol: "ACME", side: .sell, kind: .limit, price: 50,
                               quantity: 1, timeInForce: .goodTillCancel))
        let dup = s.handle(.newOrder(key: key("S1", "a"), account: 1, symbol: "ACME", side: .sell, kind: .limit,
                                     price: 50, quantity: 1, timeInForce: .goodTillCancel))
        #expect(reports(dup).first?.kind == .rejected("duplicate ClOrdID"))
        let unknown = s.handle(.newOrder(key: key("S1", "b"), account: 1, symbol: "NOPE", side: .sell, kind: .limit,
                                         price: 50, quantity: 1, timeInForce: .goodTillCancel))
        #expect(reports(unknown).first?.kind == .rejected("unknown symbol NOPE"))
    }

    @Test func cancelAnswersUnderTheCancelsClOrdIDAndReleasesTheReservation() throws {
        let s = try makeSequencer()
        _ = s.handle(.newOrder(key: key("S2", "1"), account: 2, symbol: "ACME", side: .buy, kind: .limit, price: 40,
                               quantity: 100, timeInForce: .goodTillCancel))
        #expect(s.risk.available(account: 2, asset: .cash) == 6_000)
        let out = s.handle(.cancel(key: key("S2", "2"), original: key("S2", "1")))
        let r = reports(out)
        #expect(r.map(\.kind) == [.canceled])
        #expect(r.first?.key == key("S2", "2") && r.first?.original == key("S2", "1"))
        #expect(s.risk.available(account: 2, asset: .cash) == 10_000)
        let again = s.handle(.cancel(key: key("S2", "3"), original: key("S2", "1")))
        #expect(again == [.cancelRejected(key: key("S2", "3"), original: key("S2", "1"), reason: "unknown order")])
    }

    @Test func aReplaceTheAccountCannotCoverIsRefusedAndChangesNothing() throws {
        let s = try makeSequencer()
        _ = s.handle(.newOrder(key: key("S2", "1"), account: 2, symbol: "ACME", side: .buy, kind: .limit, price: 40,
                               quantity: 100, timeInForce: .goodTillCancel))
        let out = s.handle(.replace(key: key("S2", "2"), original: key("S2", "1"), price: 40, quantity: 300))
        guard case let .cancelRejected(_, _, reason)? = out.first else {
            Issue.record("expected a cancel reject, got \(out)")
            return
        }
        #expect(reason == "account 2: cash needed 12000, available 10000")
        #expect(s.engine.restingOrder(1)?.remainingQuantity == 100)
        #expect(s.risk.available(account: 2, asset: .cash) == 6_000)
        let ok = s.handle(.replace(key: key("S2", "3"), original: key("S2", "1"), price: 45, quantity: 200))
        let r = reports(ok)
        #expect(r.map(\.kind) == [.replaced])
        #expect(r.first?.key == key("S2", "3") && r.first?.original == key("S2", "1"))
        #expect(s.risk.available(account: 2, asset: .cash) == 1_000)
        // The old ClOrdID no longer names the order.
        let stale = s.handle(.cancel(key: key("S2", "4"), original: key("S2", "1")))
        #expect(stale == [.cancelRejected(key: key("S2", "4"), original: key("S2", "1"), reason: "unknown order")])
    }

    @Test func aFullBatchIsHandedOutWithoutWaitingForTheTimer() throws {
        let s = try makeSequencer(batchSize: 2)
        _ = s.handle(.newOrder(key: key("S1", "s"), account: 1, symbol: "ACME", side: .sell, kind: .limit, price: 10,
                               quantity: 10, timeInForce: .goodTillCancel))
        let first = s.handle(.newOrder(key: key("S2", "b1"), account: 2, symbol: "ACME", side: .buy, kind: .limit,
                                       price: 10, quantity: 1, timeInForce: .immediateOrCancel))
        #expect(!first.contains { if case .settlementBatch = $0 { return true } else { return false } })
        let second = s.handle(.newOrder(key: key("S2", "b2"), account: 2, symbol: "ACME", side: .buy, kind: .market,
                                        price: 0, quantity: 1, timeInForce: .immediateOrCancel))
        let batches = second.compactMap { if case let .settlementBatch(t) = $0 { return t } else { return nil } }
        #expect(batches.count == 1 && batches.first?.count == 2)
        #expect(s.pendingTradeCount == 0)
    }

    @Test func aMarketBuyReservesWhatTheVisibleBookCosts() throws {
        let s = try makeSequencer()
        _ = s.handle(.newOrder(key: key("S1", "a"), account: 1, symbol: "ACME", side: .sell, kind: .limit, price: 60,
                               quantity: 100, timeInForce: .goodTillCancel))
        _ = s.handle(.newOrder(key: key("S1", "b"), account: 1, symbol: "ACME", side: .sell, kind: .limit, price: 120,
                               quantity: 100, timeInForce: .goodTillCancel))
        // 150 shares would reach the 120 level: 150 × 120 = 18,000 > 10,000 cash.
        let tooBig = s.handle(.newOrder(key: key("S2", "m1"), account: 2, symbol: "ACME", side: .buy, kind: .market,
                                        price: 0, quantity: 150, timeInForce: .immediateOrCancel))
        #expect(reports(tooBig).first?.kind == .rejected("account 2: cash needed 18000, available 10000"))
        let fits = s.handle(.newOrder(key: key("S2", "m2"), account: 2, symbol: "ACME", side: .buy, kind: .market,
                                      price: 0, quantity: 100, timeInForce: .immediateOrCancel))
        #expect(reports(fits).map(\.kind) == [.new, .trade, .trade])
        #expect(s.risk.available(account: 2, asset: .cash) == 4_000)
    }
}
