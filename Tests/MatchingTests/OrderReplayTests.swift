import Matching
import Testing

@Suite("Order replay CSV")
struct OrderReplayTests {
    static let header = OrderReplay.inputHeader + "\n"

    func replay(_ rows: String) -> [String] {
        let output = OrderReplay.replay(Self.header + rows)
        return output.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    @Test func everyEventKindInTheDocumentedFormat() {
        let lines = replay("""
            1,LIMIT,1,100,ACME,SELL,1010,50,GTC
            2,LIMIT,2,101,ACME,SELL,1005,30,DAY
            3,LIMIT,3,102,ACME,BUY,1010,60,GTC
            4,MARKET,4,103,ACME,BUY,,100,
            5,LIMIT,5,104,ACME,BUY,1000,10,DAY
            6,REPLACE,5,,,,1001,7,
            7,LIMIT,6,100,ACME,SELL,1001,2,GTC
            8,LIMIT,7,104,ACME,SELL,1001,1,GTC
            9,CANCEL,5,,,,,,
            10,END_OF_DAY,,,,,,,

            """)
        // Row 8: order 7 (account 104) meets its own resting order 5, which is
        // canceled (self-trade prevention); 7 then rests. Row 10 finds no DAY order.
        #expect(lines == [
            "1,ACCEPTED,1,,ACME,SELL,1010,50,",
            "2,ACCEPTED,2,,ACME,SELL,1005,30,",
            "3,ACCEPTED,3,,ACME,BUY,1010,60,",
            "3,TRADE,3,2,ACME,BUY,1005,30,",
            "3,TRADE,3,1,ACME,BUY,1010,30,",
            "4,ACCEPTED,4,,ACME,BUY,,100,",
            "4,TRADE,4,1,ACME,BUY,1010,20,",
            "4,EXPIRED,4,,ACME,BUY,,80,",
            "5,ACCEPTED,5,,ACME,BUY,1000,10,",
            "6,REPLACED,5,,ACME,BUY,1001,7,",
            "7,ACCEPTED,6,,ACME,SELL,1001,2,",
            "7,TRADE,6,5,ACME,SELL,1001,2,",
            "8,ACCEPTED,7,,ACME,SELL,1001,1,",
            "8,CANCELED,5,,ACME,BUY,1001,5,SELF_TRADE",
            "9,REJECTED,5,,,,,,UNKNOWN_ORDER",
        ])
    }

    @Test func endOfDayExpiresDayOrdersOnly() {
        let lines = replay("""
            1,LIMIT,9,1,ACME,BUY,100,5,DAY
            2,LIMIT,3,1,ACME,BUY,99,5,DAY
            3,LIMIT,4,1,ACME,BUY,98,5,GTC
            4,END_OF_DAY,,,,,,,
            5,CANCEL,4,,,,,,

            """)
        #expect(Array(lines.suffix(3)) == [
            "4,EXPIRED,3,,ACME,BUY,99,5,",
            "4,EXPIRED,9,,ACME,BUY,100,5,",
            "5,CANCELED,4,,ACME,BUY,98,5,",
        ])
    }

    @Test func rejectsCarryTheirReason() {
        let lines = replay("""
            1,LIMIT,1,1,ACME,BUY,100,5,GTC
            2,LIMIT,1,1,ACME,BUY,100,5,GTC
            3,LIMIT,2,1,ACME,BUY,100,0,GTC
            4,LIMIT,3,1,ACME,BUY,0,5,GTC
            5,REPLACE,77,,,,100,5,
            6,REPLACE,1,,,,100,-1,

            """)
        #expect(Array(lines.dropFirst()) == [
            "2,REJECTED,1,,ACME,BUY,100,5,DUPLICATE_ORDER_ID",
            "3,REJECTED,2,,ACME,BUY,100,0,INVALID_QUANTITY",
            "4,REJECTED,3,,ACME,BUY,0,5,INVALID_PRICE",
            "5,REJECTED,77,,,,100,5,UNKNOWN_ORDER",
            "6,REJECTED,1,,ACME,BUY,100,-1,INVALID_QUANTITY",
        ])
    }

    @Test("a malformed row is a REJECTED event naming its line and field", arguments: [
        ("1,LIMT,1,1,ACME,BUY,100,5,GTC", "line 2: type: 'LIMT' expected LIMIT|MARKET|CANCEL|REPLACE|END_OF_DAY"),
        ("1,LIMIT,1,1,ACME,BID,100,5,GTC", "line 2: side: 'BID' expected BUY|SELL"),
        ("1,LIMIT,1,1,ACME,BUY,100,5,GTD", "line 2: tif: 'GTD' expected GTC|DAY|IOC|FOK"),
        ("1,LIMIT,1,1,ACME,BUY,10.5,5,GTC", "line 2: price: '10.5' not an integer"),
        ("1,LIMIT,1,1,ACME,BUY,,5,GTC", "line 2: price: '' missing"),
        ("1,LIMIT,1,1,ACME,BUY,100,,GTC", "line 2: qty: '' missing"),
        ("1,LIMIT,1,1,ACME,BUY,100,99999999999999999999,GTC", "line 2: qty: '99999999999999999999' not an integer"),
        ("1,LIMIT,x1,1,ACME,BUY,100,5,GTC", "line 2: order_id: 'x1' not a non-negative integer"),
        ("1,LIMIT,-4,1,ACME,BUY,100,5,GTC", "line 2: order_id: '-4' not a non-negative integer"),
        ("1,LIMIT,1,,ACME,BUY,100,5,GTC", "line 2: account: '' missing"),
        ("1,LIMIT,1,1,AC\"ME,BUY,100,5,GTC", "line 2: symbol: 'AC?ME'"),
        ("one,LIMIT,1,1,ACME,BUY,100,5,GTC", "line 2: seq: 'one' not an integer"),
        ("1,LIMIT,1,1,ACME,BUY,100,5", "line 2: expected 9 fields but found 8"),
        ("1,LIMIT,1,1,ACME,BUY,100,5,GTC,extra", "line 2: expected 9 fields but found 10"),
        ("", "line 2: empty row"),
    ])
    func malformedRow(row: String, expected: String) {
        let lines = replay(row + "\n")
        #expect(lines.count == 1)
        let event = lines.last ?? ""
        #expect(event.contains(",REJECTED,"), "\(event)")
        #expect(event.contains("MALFORMED " + expected), "\(event)")
        #expect(event.split(separator: ",", omittingEmptySubsequences: false).count == 9, "\(event)")
    }

    @Test func malformedRowChangesNothing() {
        let lines = replay("""
            1,LIMIT,1,1,ACME,SELL,100,5,GTC
            2,LIMIT,2,2,ACME,BUY,abc,5,GTC
            3,LIMIT,2,2,ACME,BUY,100,5,GTC

            """)
        // Id 2 was not used up by the malformed row; the later row trades.
        #expect(lines.last == "3,TRADE,2,1,ACME,BUY,100,5,")
    }

    @Test func overlongLineIsReportedOnceAndTheNextLineStillWorks() {
        let long = "1,LIMIT,1,1," + String(repeating: "A", count: 10_000) + ",BUY,100,5,GTC"
        let replayer = OrderReplay()
        var output: [UInt8] = []
        var writer = EventCSVWriter { output.append(contentsOf: $0) }
        let text = Self.header + long + "\n2,LIMIT,2,1,ACME,BUY,100,5,GTC\n"
        // Feed in small chunks so the long line spans many of them.
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            let end = min(start + 1000, bytes.count)
            bytes[start..<end].withUnsafeBytes { replayer.feed($0, into: &writer) }
            start = end
        }
        replayer.finish(into: &writer)
        let lines = String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(lines.first?.contains("MALFORMED line 2: longer than 4096 bytes") == true)
        #expect(lines.last == "2,ACCEPTED,2,,ACME,BUY,100,5,")
    }

    @Test("chunk boundaries, CRLF and a missing final newline change nothing", arguments: [1, 2, 7, 64, 4096])
    func chunkingIsInvisible(chunkSize: Int) {
        var rng = SeededGenerator(seed: 42)
        var rows = ""
        for i in 1...400 {
            let side = rng.below(2) == 0 ? "BUY" : "SELL"
            switch rng.below(10) {
            case 0..<6: rows += "\(i),LIMIT,\(i),\(rng.below(5)),S\(rng.below(3)),\(side),\(95 + rng.below(10)),\(1 + rng.below(9)),GTC\n"
            case 6: rows += "\(i),MARKET,\(i),\(rng.below(5)),S\(rng.below(3)),\(side),,\(1 + rng.below(9)),\n"
            case 7: rows += "\(i),CANCEL,\(rng.below(UInt64(i)) + 1),,,,,,\n"
            case 8: rows += "\(i),REPLACE,\(rng.below(UInt64(i)) + 1),,,,\(95 + rng.below(10)),\(1 + rng.below(9)),\n"
            default: rows += "\(i),LIMIT,\(i),1,S0,\(side),\(95 + rng.below(10)),\(1 + rng.below(9)),IOC\n"
            }
        }
        let whole = OrderReplay.replay(Self.header + rows)
        let crlf = Self.header.replacingOccurrences(of: "\n", with: "\r\n")
            + rows.replacingOccurrences(of: "\n", with: "\r\n")
        let input = Array(crlf.utf8.dropLast(2))   // no final CR LF

        let replayer = OrderReplay()
        var output: [UInt8] = []
        var writer = EventCSVWriter(bufferSize: 300) { output.append(contentsOf: $0) }
        var start = 0
        while start < input.count {
            let end = min(start + chunkSize, input.count)
            input[start..<end].withUnsafeBytes { replayer.feed($0, into: &writer) }
            start = end
        }
        replayer.finish(into: &writer)
        #expect(String(decoding: output, as: UTF8.self) == whole)
        #expect(replayer.rowCount == 400)
        #expect(replayer.malformedCount == 0)
        #expect(whole.contains(",TRADE,"))
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
