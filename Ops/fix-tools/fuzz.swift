// libFuzzer entry point for the FIX framer and decoder (see Ops/FUZZING-FIX.md).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFIX(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = FIXFramer.frame(bytes)
    if let m = try? FIXDecoder().decode(bytes) {
        _ = try? NewOrderSingle(parsing: m)
        _ = try? OrderCancelReplaceRequest(parsing: m)
        _ = try? ExecutionReport(parsing: m)
        _ = try? Logon(parsing: m)
        _ = try? ResendRequest(parsing: m)
        _ = try? SequenceReset(parsing: m)
        _ = try? m.price?.ticks(.cents)
    }
    return 0
}

extension FIXMessage {
    var price: FIXWirePrice? { string(FIXTag.price).map { FIXWirePrice(tag: FIXTag.price, text: $0) } }
}
