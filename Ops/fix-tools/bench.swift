// Decode/encode rate of a typical NewOrderSingle, one core, release build.
// Built by Ops/fix-tools/run-bench: compiled together with Sources/FIX/*.swift.

func wire(_ s: String) -> [UInt8] { s.utf8.map { $0 == UInt8(ascii: "|") ? 0x01 : $0 } }

let sendingTime = "20261125-18:00:00.000"
var body = FIXBody(.newOrderSingle)
let nos = NewOrderSingle(clOrdID: "ORD-000000123", account: "ACC-1", symbol: "ACME", side: .buy, orderQty: 100,
                         ordType: .limit, price: "10.25", timeInForce: .day, transactTime: FIXTime.parse(Array(sendingTime.utf8)) ?? 0)
let frame = FIXEncoder.encode(nos.body(), header: FIXHeader(senderCompID: "CLIENT1", targetCompID: "CLEARLEDGER", msgSeqNum: 123456, sendingTime: FIXTime.parse(Array(sendingTime.utf8)) ?? 0))
print("frame (\(frame.count) bytes): " + String(decoding: frame.map { $0 == 1 ? UInt8(ascii: "|") : $0 }, as: UTF8.self))

let iterations = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 5_000_000 : 5_000_000
let decoder = FIXDecoder()
let clock = ContinuousClock()

func rate(_ name: String, _ body: () throws -> Int) rethrows {
    let start = clock.now
    let checksum = try body()
    let elapsed = clock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let perSecond = Double(iterations) / seconds
    print("\(name): \(Int(perSecond)) messages/s (\(Int(seconds * 1e9 / Double(iterations))) ns each, check \(checksum))")
}

// 1. Decode in place, reusing the message's storage (the gateway's hot path).
var message = FIXMessage()
try rate("decode into reused FIXMessage") {
    var sum = 0
    try frame.withUnsafeBytes { raw in
        for _ in 0..<iterations {
            try decoder.decode(raw, into: &message)
            sum &+= message.fields.count
        }
    }
    return sum
}

// 2. Frame + decode from a stream buffer.
try rate("frame + decode (stream)") {
    var sum = 0
    try frame.withUnsafeBytes { raw in
        for _ in 0..<iterations {
            guard case .frame(let n) = FIXFramer.frame(raw) else { fatalError("framer") }
            try decoder.decode(UnsafeRawBufferPointer(rebasing: raw[0..<n]), into: &message)
            sum &+= n
        }
    }
    return sum
}

// 3. Decode + typed NewOrderSingle view + exact price conversion.
try rate("decode + NewOrderSingle view + price ticks") {
    var sum = 0
    try frame.withUnsafeBytes { raw in
        for _ in 0..<iterations {
            try decoder.decode(raw, into: &message)
            let order = try NewOrderSingle(parsing: message)
            sum &+= Int(try order.price?.ticks(.cents) ?? 0)
        }
    }
    return sum
}

// 4. Encode an ExecutionReport frame.
let report = ExecutionReport(orderID: "O-123", clOrdID: "ORD-000000123", execID: "E-1", execType: .trade, ordStatus: .filled,
                             symbol: "ACME", side: .buy, leavesQty: 0, cumQty: 100, avgPx: FIXDecimal(units: 1025, scale: 2),
                             lastQty: 100, lastPx: FIXDecimal(units: 1025, scale: 2))
rate("encode ExecutionReport") {
    var sum = 0
    for i in 0..<iterations {
        let bytes = FIXEncoder.encode(report.body(), header: FIXHeader(senderCompID: "CLEARLEDGER", targetCompID: "CLIENT1", msgSeqNum: i + 1, sendingTime: 1_790_000_000_000_000_000))
        sum &+= bytes.count
    }
    return sum
}

// 5. Through an acceptor session: decode, header checks, sequence, deliver.
var session = FIXSession(configuration: FIXSessionConfiguration(
    role: .acceptor, senderCompID: "CLEARLEDGER", targetCompID: "CLIENT1",
    applicationMessageTypes: FIXSessionConfiguration.orderEntryMessageTypes))
let t0 = FIXTime.parse(Array(sendingTime.utf8)) ?? 0
var actions: [FIXSessionAction] = []
session.connected(now: t0, into: &actions)
let logonFrame = FIXEncoder.encode(Logon(heartBtInt: 30).body(), header: FIXHeader(senderCompID: "CLIENT1", targetCompID: "CLEARLEDGER", msgSeqNum: 1, sendingTime: t0))
session.received(logonFrame, now: t0, into: &actions)
// Pre-encode the stream (sequence numbers 2...), so only the session is timed.
let sessionFrames = (0..<min(iterations, 1_000_000)).map { i in
    FIXEncoder.encode(nos.body(), header: FIXHeader(senderCompID: "CLIENT1", targetCompID: "CLEARLEDGER", msgSeqNum: i + 2, sendingTime: t0))
}
let sessionStart = clock.now
var delivered = 0
for f in sessionFrames {
    actions.removeAll(keepingCapacity: true)
    session.received(f, now: t0, into: &actions)
    for action in actions {
        if case .deliver = action { delivered += 1 }
    }
}
let sessionElapsed = clock.now - sessionStart
let sessionSeconds = Double(sessionElapsed.components.seconds) + Double(sessionElapsed.components.attoseconds) / 1e18
print("acceptor session received → deliver: \(Int(Double(sessionFrames.count) / sessionSeconds)) messages/s (\(delivered) delivered)")
