@testable import FIX

/// `|` stands for SOH in test literals.
func wire(_ s: String) -> [UInt8] {
    s.utf8.map { $0 == UInt8(ascii: "|") ? 0x01 : $0 }
}

/// Wraps a body (`35=…|…|`) with a correct BeginString, BodyLength and CheckSum.
func frame(_ body: String, begin: String = "FIX.4.4", bodyLengthDelta: Int = 0, checkSumDelta: Int = 0) -> [UInt8] {
    let b = wire(body)
    var out = wire("8=\(begin)|9=\(b.count + bodyLengthDelta)|")
    out += b
    var sum = out.reduce(0) { $0 + Int($1) } & 0xFF
    sum = (sum + checkSumDelta) & 0xFF
    let digits = String(sum)
    out += wire("10=\(String(repeating: "0", count: 3 - digits.count) + digits)|")
    return out
}

func text(_ bytes: [UInt8]) -> String {
    String(decoding: bytes.map { $0 == 0x01 ? UInt8(ascii: "|") : $0 }, as: UTF8.self)
}

let sampleTime = "20261125-18:00:00.000"
let sampleNanos: Int64 = FIXTime.parse(Array(sampleTime.utf8))!

let newOrderBody =
    "35=D|49=CLIENT1|56=CLEARLEDGER|34=2|52=\(sampleTime)|11=ORD-0001|1=ACC-1|55=ACME|54=1|38=100|40=2|44=10.25|59=0|60=\(sampleTime)|"
