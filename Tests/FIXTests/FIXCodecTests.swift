import Testing
@testable import FIX

@Suite struct FIXCodecTests {
    let decoder = FIXDecoder()

    @Test func decodesNewOrderSingle() throws {
        let m = try decoder.decode(frame(newOrderBody))
        #expect(m.msgType == .newOrderSingle)
        #expect(m.string(FIXTag.clOrdID) == "ORD-0001")
        #expect(m.msgSeqNum == 2)
        #expect(m.senderCompID == "CLIENT1")
        #expect(try m.timestamp(FIXTag.sendingTime) == sampleNanos)
        #expect(m.fields.first?.tag == 8)
        #expect(m.fields.last?.tag == 10)
        #expect(m.fields[m.bodyFieldIndex].tag == FIXTag.clOrdID)
        #expect(text(Array(m.bytes[m.bodyByteRange])).hasPrefix("11=ORD-0001|"))
    }

    @Test func encodeDecodeRoundTrip() throws {
        var body = FIXBody(.newOrderSingle)
        body.append(FIXTag.clOrdID, "A|B")  // '|' is not SOH: kept
        body.append(FIXTag.symbol, "ACME")
        body.append(FIXTag.orderQty, int: 250)
        body.append(FIXTag.price, decimal: FIXDecimal(units: 1025, scale: 2))
        body.append(FIXTag.text, "bad\u{01}soh")
        let header = FIXHeader(senderCompID: "S", targetCompID: "T", msgSeqNum: 42, sendingTime: sampleNanos, possDup: true, origSendingTime: sampleNanos - 1_000_000_000)
        let bytes = FIXEncoder.encode(body, header: header)
        #expect(text(bytes).hasPrefix("8=FIX.4.4|9="))
        #expect(text(bytes).contains("|35=D|49=S|56=T|34=42|52=20261125-18:00:00.000|43=Y|122=20261125-17:59:59.000|11=A|B|"))
        let m = try decoder.decode(bytes)
        #expect(m.msgSeqNum == 42)
        #expect(m.possDup)
        #expect(m.string(FIXTag.price) == "10.25")
        #expect(m.string(FIXTag.text) == "bad soh")
        #expect(FIXFramer.frame(bytes) == .frame(length: bytes.count))
        // Re-encoding the decoded body reproduces the same frame.
        let again = FIXEncoder.encode(FIXBody(msgType: m.msgType, encodedFields: m.bytes[m.bodyByteRange]), header: header)
        #expect(again == bytes)
    }

    @Test func timestampsRoundTrip() {
        #expect(FIXTime.format(0) == "19700101-00:00:00.000")
        #expect(FIXTime.format(951_782_400_123_000_000) == "20000229-00:00:00.123")
        for t: Int64 in [0, 1, 86_399_999_999_999, 4_102_444_800_000_000_000, sampleNanos] {
            let ms = t / 1_000_000 * 1_000_000
            #expect(FIXTime.parse(Array(FIXTime.format(t).utf8)) == ms)
        }
        #expect(FIXTime.parse(Array("20261125-18:00:00".utf8)) == sampleNanos)
        #expect(FIXTime.parse(Array("20261125-18:00:00.123456789".utf8)) == sampleNanos + 123_456_789)
        #expect(FIXTime.parse(Array("20261325-18:00:00".utf8)) == nil)
        #expect(FIXTime.parse(Array("20261125 18:00:00".utf8)) == nil)
        #expect(FIXTime.parse(Array("20261125-18:00:00.".utf8)) == nil)
    }

    // MARK: malformed input: garbled (ignore), reject, or disconnect

    func expectGarbled(_ bytes: [UInt8], _ sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try decoder.decode(bytes)
            Issue.record("decoded a garbled frame", sourceLocation: sourceLocation)
        } catch {
            #expect(error.disposition == .ignore, "\(error)", sourceLocation: sourceLocation)
        }
    }

    func expectReject(_ bytes: [UInt8], reason: SessionRejectReason, tag: Int?, _ sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try decoder.decode(bytes)
            Issue.record("decoded an invalid frame", sourceLocation: sourceLocation)
        } catch {
            guard case .invalid(let info) = error else {
                Issue.record("expected reject, got \(error)", sourceLocation: sourceLocation)
                return
            }
            #expect(info.reason == reason, sourceLocation: sourceLocation)
            #expect(info.refTagID == tag, sourceLocation: sourceLocation)
            #expect(info.refSeqNum == 2, "the Reject must still name the MsgSeqNum", sourceLocation: sourceLocation)
            #expect(info.refMsgType == "D", sourceLocation: sourceLocation)
        }
    }

    @Test func badCheckSumIsGarbled() {
        expectGarbled(frame(newOrderBody, checkSumDelta: 1))
        var b = frame(newOrderBody)
        b[b.count - 2] = UInt8(ascii: "x")
        expectGarbled(b)
    }

    @Test func badBodyLengthIsGarbled() {
        expectGarbled(frame(newOrderBody, bodyLengthDelta: 1))
        expectGarbled(frame(newOrderBody, bodyLengthDelta: -1))
        expectGarbled(wire("8=FIX.4.4|9=abc|35=0|10=000|"))
        // CheckSum glued to the last field (no SOH before 10=): not a trailer.
        let glued = frame(String(newOrderBody.dropLast()))
        expectGarbled(glued)
        #expect(FIXFramer.frame(glued) == .garbled(discard: glued.count))
    }

    @Test func headerOrderViolationsAreGarbled() {
        expectGarbled(frame("49=A|35=0|56=B|34=1|52=\(sampleTime)|"))  // 35 not third
        expectGarbled(frame("49=A|56=B|34=1|52=\(sampleTime)|"))  // 35 missing
        var swapped = wire("9=5|8=FIX.4.4|35=0|10=000|")
        expectGarbled(swapped)
        swapped = wire("35=0|8=FIX.4.4|9=5|10=000|")
        expectGarbled(swapped)
    }

    @Test func otherBeginStringDisconnects() {
        #expect(throws: FIXDecodeError.unsupportedBeginString("FIX.4.2")) {
            try decoder.decode(frame(newOrderBody, begin: "FIX.4.2"))
        }
    }

    @Test func fieldRuleViolationsAreRejects() {
        expectReject(frame(newOrderBody + "abc=1|"), reason: .invalidTagNumber, tag: nil)
        expectReject(frame(newOrderBody + "0=1|"), reason: .invalidTagNumber, tag: nil)
        expectReject(frame(newOrderBody + "055=1|"), reason: .invalidTagNumber, tag: nil)
        expectReject(frame(newOrderBody + "novalue|"), reason: .invalidTagNumber, tag: nil)
        expectReject(frame(newOrderBody + "55=DUP|"), reason: .tagAppearsMoreThanOnce, tag: 55)
        expectReject(frame(newOrderBody + "58=|"), reason: .tagSpecifiedWithoutValue, tag: 58)
        expectReject(frame(newOrderBody + "49=LATE|"), reason: .tagSpecifiedOutOfRequiredOrder, tag: 49)
        expectReject(frame(newOrderBody + "57=DESK|"), reason: .tagSpecifiedOutOfRequiredOrder, tag: 57)
        expectReject(frame(newOrderBody + "35=D|"), reason: .tagSpecifiedOutOfRequiredOrder, tag: 35)
    }

    @Test func repeatingGroups() throws {
        let ok = try decoder.decode(frame(newOrderBody + "453=2|448=P1|447=D|452=3|448=P2|447=D|452=4|"))
        #expect(ok.strings(FIXTag.partyID) == ["P1", "P2"])
        expectReject(frame(newOrderBody + "453=3|448=P1|448=P2|"), reason: .incorrectNumInGroupCount, tag: 453)
        expectReject(frame(newOrderBody + "453=1|448=P1|448=P2|"), reason: .incorrectNumInGroupCount, tag: 453)
        expectReject(frame(newOrderBody + "453=1|447=D|448=P1|"), reason: .repeatingGroupFieldsOutOfOrder, tag: 447)
        expectReject(frame(newOrderBody + "453=1|448=P1|447=D|447=D|"), reason: .repeatingGroupFieldsOutOfOrder, tag: 447)
        // After the group, ordinary uniqueness applies again.
        expectReject(frame(newOrderBody + "453=1|448=P1|55=X|"), reason: .tagAppearsMoreThanOnce, tag: 55)
    }

    @Test func fieldCountLimit() {
        let small = FIXDecoder(limits: FIXLimits(maximumMessageSize: 65536, maximumFieldCount: 10))
        #expect(throws: FIXDecodeError.self) { try small.decode(frame(newOrderBody)) }
        #expect((try? FIXDecoder().decode(frame(newOrderBody))) != nil)
    }

    // MARK: framer

    @Test func framerFindsFramesAcrossChunks() {
        let a = frame(newOrderBody)
        let b = frame("35=0|49=CLIENT1|56=CLEARLEDGER|34=3|52=\(sampleTime)|")
        let stream = a + b
        for cut in 0..<a.count {
            #expect(FIXFramer.frame(Array(stream[..<cut])) == .needMoreBytes, "cut \(cut)")
        }
        #expect(FIXFramer.frame(stream) == .frame(length: a.count))
        #expect(FIXFramer.frame(Array(stream[a.count...])) == .frame(length: b.count))
    }

    @Test func framerSkipsGarbageToNextMessage() {
        let good = frame(newOrderBody)
        let garbage = wire("hello world|") + good
        #expect(FIXFramer.frame(garbage) == .garbled(discard: 12))
        // tag=value without SOH never terminates BeginString: garbage, not a wait.
        let noSOH = Array("8=FIX.4.4 9=5 35=0 10=000 xxxxxxxxxxxxx".utf8)
        #expect(FIXFramer.frame(noSOH) == .garbled(discard: noSOH.count))
        // Wrong BodyLength: the trailer is not where it says; skip to the next frame.
        let bad = frame(newOrderBody, bodyLengthDelta: -3)
        #expect(FIXFramer.frame(bad + good) == .garbled(discard: bad.count))
        // Truncated frame: wait.
        #expect(FIXFramer.frame(Array(good.dropLast(1))) == .needMoreBytes)
    }

    @Test func framerRefusesOversize() {
        let limits = FIXLimits(maximumMessageSize: 1024)
        #expect(FIXFramer.frame(wire("8=FIX.4.4|9=2000|35=0|"), limits: limits) == .tooLarge(announced: 17 + 2000 + 7))
        #expect(FIXFramer.frame(wire("8=FIX.4.4|9=99999999|"), limits: limits) == .garbled(discard: 21))
        let big = frame(newOrderBody + "58=" + String(repeating: "x", count: 2000) + "|")
        #expect(throws: FIXDecodeError.garbled(.tooLarge)) { try FIXDecoder(limits: limits).decode(big) }
    }

    @Test func truncatedFramesAreGarbled() {
        let good = frame(newOrderBody)
        for cut in stride(from: 0, to: good.count, by: 7) {
            expectGarbled(Array(good[..<cut]))
        }
    }

    @Test func reusesStorage() throws {
        var m = FIXMessage()
        let bytes = frame(newOrderBody)
        try bytes.withUnsafeBytes { try decoder.decode($0, into: &m) }
        #expect(m.string(FIXTag.symbol) == "ACME")
        let b2 = frame("35=0|49=CLIENT1|56=CLEARLEDGER|34=3|52=\(sampleTime)|")
        try b2.withUnsafeBytes { try decoder.decode($0, into: &m) }
        #expect(m.msgType == .heartbeat)
        #expect(m.string(FIXTag.symbol) == nil)
    }
}

@Suite struct FIXPriceTests {
    @Test func exactConversion() throws {
        #expect(try FIXPrice.ticks("10.25", format: .cents) == 1025)
        #expect(try FIXPrice.ticks("10.250000", format: .cents) == 1025)
        #expect(try FIXPrice.ticks("10", format: .cents) == 1000)
        #expect(try FIXPrice.ticks("10.", format: .cents) == 1000)
        #expect(try FIXPrice.ticks(".5", format: .cents) == 50)
        #expect(try FIXPrice.ticks("0", format: .cents) == 0)
        #expect(try FIXPrice.ticks("0007.10", format: .cents) == 710)
        #expect(try FIXPrice.ticks("10.25", format: FIXPriceFormat(scale: 2, tickSize: 5)) == 205)
        #expect(try FIXPrice.ticks("1.2345", format: FIXPriceFormat(scale: 4, tickSize: 1)) == 12345)
        #expect(try FIXPrice.ticks("92233720368547758.07", format: .cents) == Int64.max)
    }

    @Test func rejectsWhatItCannotRepresent() {
        #expect(throws: FIXPriceError.tooPrecise("10.255")) { try FIXPrice.ticks("10.255", format: .cents) }
        #expect(throws: FIXPriceError.offTickGrid("10.26")) { try FIXPrice.ticks("10.26", format: FIXPriceFormat(scale: 2, tickSize: 5)) }
        #expect(throws: FIXPriceError.negative("-1.00")) { try FIXPrice.ticks("-1.00", format: .cents) }
        for junk in ["", ".", "1e3", "1E3", "+1", " 1", "1 ", "1..2", "1.2.3", "abc", "0x10", "1,5", "NaN", "inf"] {
            #expect(throws: FIXPriceError.self, "\(junk)") { try FIXPrice.ticks(junk, format: .cents) }
        }
        #expect(throws: FIXPriceError.outOfRange("92233720368547758.08")) { try FIXPrice.ticks("92233720368547758.08", format: .cents) }
        #expect(throws: FIXPriceError.outOfRange("99999999999999999999999")) { try FIXPrice.ticks("99999999999999999999999", format: .cents) }
    }

    @Test func formatting() {
        #expect(FIXPrice.decimal(ticks: 1025, format: .cents).description == "10.25")
        #expect(FIXPrice.decimal(ticks: 5, format: .cents).description == "0.05")
        #expect(FIXPrice.decimal(ticks: 205, format: FIXPriceFormat(scale: 2, tickSize: 5)).description == "10.25")
        #expect(FIXDecimal(units: 7, scale: 0).description == "7")
        #expect(FIXDecimal(units: -150, scale: 2).description == "-1.50")
        #expect(FIXDecimal.average(totalMinorUnits: 1025 * 3 + 1030, quantity: 4, format: .cents)?.description == "10.262500")
        // Every formatted price parses back to the same ticks.
        for t: Int64 in [0, 1, 99, 100, 12345, 1 << 40] {
            let s = FIXPrice.decimal(ticks: t, format: .cents).description
            #expect((try? FIXPrice.ticks(s, format: .cents)) == t)
        }
    }
}

@Suite struct FIXTimeEdgeTests {
    /// Found by the fuzz test: year 9999 overflowed Int64 nanoseconds and trapped.
    @Test func farFutureAndPastAreOutOfRangeNotATrap() {
        #expect(FIXTime.parse(Array("99991231-23:59:59.999".utf8)) == nil)
        #expect(FIXTime.parse(Array("19691231-23:59:59".utf8)) == nil)
        #expect(FIXTime.parse(Array("22611231-23:59:59".utf8)) != nil)
    }
}
