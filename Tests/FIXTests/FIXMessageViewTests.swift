import Testing
@testable import FIX

@Suite struct FIXMessageViewTests {
    func roundTrip<T: FIXMessageView & Equatable>(_ view: T) throws -> T {
        let bytes = FIXEncoder.encode(view.body(), header: FIXHeader(senderCompID: "A", targetCompID: "B", msgSeqNum: 7, sendingTime: sampleNanos))
        let m = try FIXDecoder().decode(bytes)
        #expect(m.msgType == T.msgType)
        return try T(parsing: m)
    }

    @Test func sessionMessagesRoundTrip() throws {
        let logon = Logon(heartBtInt: 30, resetSeqNumFlag: true, username: "u", password: "p")
        #expect(try roundTrip(logon) == logon)
        #expect(try roundTrip(Heartbeat(testReqID: "T1")) == Heartbeat(testReqID: "T1"))
        #expect(try roundTrip(Heartbeat()) == Heartbeat())
        #expect(try roundTrip(TestRequest(testReqID: "X")) == TestRequest(testReqID: "X"))
        #expect(try roundTrip(ResendRequest(beginSeqNo: 3, endSeqNo: 0)) == ResendRequest(beginSeqNo: 3, endSeqNo: 0))
        let reject = Reject(refSeqNum: 4, refTagID: 55, refMsgType: "D", reason: .tagAppearsMoreThanOnce, text: "dup")
        #expect(try roundTrip(reject) == reject)
        #expect(try roundTrip(SequenceReset(gapFill: true, newSeqNo: 9)) == SequenceReset(gapFill: true, newSeqNo: 9))
        #expect(try roundTrip(Logout(text: "bye")) == Logout(text: "bye"))
    }

    @Test func orderMessagesRoundTrip() throws {
        let nos = NewOrderSingle(clOrdID: "C1", account: "ACC", symbol: "ACME", side: .sell, orderQty: 100, ordType: .limit, price: "10.25", timeInForce: .immediateOrCancel, transactTime: sampleNanos, postOnly: true)
        let parsed = try roundTrip(nos)
        #expect(parsed == nos)
        #expect(try parsed.price?.ticks(.cents) == 1025)
        let cancel = OrderCancelRequest(origClOrdID: "C1", clOrdID: "C2", symbol: "ACME", side: .sell, orderQty: 100, transactTime: sampleNanos)
        #expect(try roundTrip(cancel) == cancel)
        let replace = OrderCancelReplaceRequest(origClOrdID: "C1", clOrdID: "C3", symbol: "ACME", side: .sell, orderQty: 50, price: "10.30")
        #expect(try roundTrip(replace) == replace)
        let er = ExecutionReport(orderID: "O1", clOrdID: "C1", execID: "E1", execType: .trade, ordStatus: .partiallyFilled, symbol: "ACME", side: .sell, orderQty: 100, price: FIXDecimal(units: 1025, scale: 2), leavesQty: 60, cumQty: 40, avgPx: FIXDecimal(units: 1025, scale: 2), lastQty: 40, lastPx: FIXDecimal(units: 1025, scale: 2), transactTime: sampleNanos)
        #expect(try roundTrip(er) == er)
        var confirm = er
        confirm.execType = .orderStatus
        confirm.clearing = ClearingConfirmation(tradeID: "E1", blockHeight: 12, blockHash: "ab12", status: .settled)
        #expect(try roundTrip(confirm) == confirm)
        let ocr = OrderCancelReject(orderID: "NONE", clOrdID: "C2", origClOrdID: "C1", ordStatus: .rejected, responseTo: .cancelRequest, cxlRejReason: 1, text: "unknown order")
        #expect(try roundTrip(ocr) == ocr)
        let bmr = BusinessMessageReject(refSeqNum: 5, refMsgType: "AE", businessRejectReason: 3, text: "unsupported")
        #expect(try roundTrip(bmr) == bmr)
    }

    func parse(_ extra: String, replacing: (String, String)? = nil) throws(FIXFieldError) -> NewOrderSingle {
        var body = newOrderBody + extra
        if let (a, b) = replacing { body = body.replacingOccurrences(a, b) }
        let m: FIXMessage
        do { m = try FIXDecoder().decode(frame(body)) } catch { fatalError("\(error)") }
        return try NewOrderSingle(parsing: m)
    }

    @Test func newOrderErrorsNameTagAndValue() throws {
        #expect(try parse("").price?.text == "10.25")
        #expect(throws: FIXFieldError(tag: 54, value: "7", problem: .badValue)) { try parse("", replacing: ("54=1|", "54=7|")) }
        #expect(throws: FIXFieldError(tag: 40, value: "3", problem: .badValue)) { try parse("", replacing: ("40=2|", "40=3|")) }
        #expect(throws: FIXFieldError(tag: 44, value: nil, problem: .missing)) { try parse("", replacing: ("44=10.25|", "")) }
        #expect(throws: FIXFieldError(tag: 55, value: nil, problem: .missing)) { try parse("", replacing: ("55=ACME|", "")) }
        #expect(throws: FIXFieldError(tag: 60, value: "yesterday", problem: .badFormat)) { try parse("", replacing: ("60=\(sampleTime)|", "60=yesterday|")) }
        do {
            _ = try parse("", replacing: ("38=100|", "38=100.5|"))
            Issue.record("fractional quantity accepted")
        } catch {
            #expect(error.tag == 38 && error.value == "100.5" && error.rejectReason == .valueIsIncorrect)
        }
        #expect(try parse("", replacing: ("38=100|", "38=100.00|")).orderQty == 100)
        #expect(try parse("18=6|").postOnly)
        #expect(try parse("18=0 6|").postOnly)
        #expect(!(try parse("18=0|").postOnly))
        let offGrid = try parse("", replacing: ("44=10.25|", "44=10.255|"))
        #expect(throws: FIXFieldError.self) { try offGrid.price?.ticks(.cents) }
    }
}

extension String {
    func replacingOccurrences(_ a: String, _ b: String) -> String {
        var out = ""
        var rest = Substring(self)
        while let r = rest.range(of: a) {
            out += rest[..<r.lowerBound]
            out += b
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

extension Substring {
    func range(of needle: String) -> Range<Index>? {
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(needle) { return i..<index(i, offsetBy: needle.count) }
            i = index(after: i)
        }
        return nil
    }
}
