// libFuzzer entry point for the FIX framer, decoder, typed views and acceptor
// session (see Ops/FUZZING-FIX.md).

let fuzzTime: Int64 = 1_795_000_000_000_000_000
let fuzzLogon = FIXEncoder.encode(
    Logon(heartBtInt: 30, password: "pw").body(),
    header: FIXHeader(senderCompID: "C", targetCompID: "S", msgSeqNum: 1, sendingTime: fuzzTime))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFIX(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // 1. The input as one frame.
    if let m = try? FIXDecoder().decode(bytes) {
        _ = try? NewOrderSingle(parsing: m)
        _ = try? OrderCancelRequest(parsing: m)
        _ = try? OrderCancelReplaceRequest(parsing: m)
        _ = try? ExecutionReport(parsing: m)
        _ = try? Logon(parsing: m)
        _ = try? ResendRequest(parsing: m)
        _ = try? SequenceReset(parsing: m)
        _ = try? Reject(parsing: m)
        if let p = m.string(FIXTag.price) { _ = try? FIXPrice.ticks(p, format: .cents) }
    }
    // 2. The input as a stream into a logged-on acceptor session.
    var session = FIXSession(configuration: FIXSessionConfiguration(
        role: .acceptor, senderCompID: "S", targetCompID: "C",
        applicationMessageTypes: FIXSessionConfiguration.orderEntryMessageTypes))
    _ = session.connected(now: fuzzTime)
    _ = session.received(fuzzLogon, now: fuzzTime)
    var offset = 0
    var steps = 0
    while offset < bytes.count && session.status != .disconnected {
        steps += 1
        if steps > bytes.count + 1 { fatalError("framer made no progress") }
        let rest = Array(bytes[offset...])
        switch FIXFramer.frame(rest) {
        case .frame(let n):
            _ = session.received(Array(rest[..<n]), now: fuzzTime)
            offset += n
        case .garbled(let n):
            if n <= 0 || n > rest.count { fatalError("bad discard \(n)") }
            offset += n
        case .tooLarge:
            _ = session.frameTooLarge(now: fuzzTime)
        case .needMoreBytes:
            offset = bytes.count
        }
    }
    _ = session.timerFired(.heartbeat, now: fuzzTime + 31_000_000_000)
    _ = session.timerFired(.inboundSilence, now: fuzzTime + 37_000_000_000)
    return 0
}
