/// UTCTimestamp (`YYYYMMDD-HH:MM:SS[.sss…]`) to and from epoch nanoseconds,
/// without Foundation: the session never reads a clock, so the gateway's clock
/// reading is the only time there is, and conversion must be exact and cheap.
public enum FIXTime {
    public static let nanosecondsPerSecond: Int64 = 1_000_000_000

    /// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
    @usableFromInline
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(days z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// Millisecond precision, the FIX 4.4 UTCTimestamp form every engine accepts.
    public static func format(_ nanos: Int64) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(21)
        append(nanos, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func append(_ nanos: Int64, to out: inout [UInt8]) {
        let clamped = max(nanos, 0)
        let seconds = clamped / nanosecondsPerSecond
        let millis = (clamped % nanosecondsPerSecond) / 1_000_000
        let (y, mo, d) = civil(days: seconds / 86_400)
        let sod = seconds % 86_400
        func digits(_ v: Int64, _ width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            var value = v
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: (value / divisor) % 10))
                value %= divisor
                divisor /= 10
            }
        }
        digits(y % 10_000, 4)
        digits(mo, 2)
        digits(d, 2)
        out.append(UInt8(ascii: "-"))
        digits(sod / 3600, 2)
        out.append(UInt8(ascii: ":"))
        digits(sod / 60 % 60, 2)
        out.append(UInt8(ascii: ":"))
        digits(sod % 60, 2)
        out.append(UInt8(ascii: "."))
        digits(millis, 3)
    }

    /// Parses `YYYYMMDD-HH:MM:SS` with an optional fraction of 1–9 digits, years
    /// 1970–2261. Leap second 60 is accepted (as FIX allows) and folded into the
    /// next second.
    public static func parse<C: Collection>(_ value: C) -> Int64? where C.Element == UInt8 {
        if let parsed = value.withContiguousStorageIfAvailable({ parse(buffer: $0) }) { return parsed }
        return Array(value).withUnsafeBufferPointer { parse(buffer: $0) }
    }

    /// Works on the frame's bytes in place: SendingTime is checked on every
    /// inbound message, so no copy.
    static func parse(buffer b: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard b.count >= 17, b[8] == UInt8(ascii: "-"), b[11] == UInt8(ascii: ":"), b[14] == UInt8(ascii: ":") else {
            return nil
        }
        func number(_ range: Range<Int>) -> Int64? {
            var v: Int64 = 0
            for i in range {
                let d = b[i] &- UInt8(ascii: "0")
                guard d < 10 else { return nil }
                v = v * 10 + Int64(d)
            }
            return v
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
            let hour = number(9..<11), let minute = number(12..<14), let second = number(15..<17),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60
        else { return nil }
        var fraction: Int64 = 0
        if b.count > 17 {
            guard b[17] == UInt8(ascii: "."), b.count > 18, b.count <= 27, let f = number(18..<b.count) else { return nil }
            fraction = f
            for _ in 0..<(9 - (b.count - 18)) { fraction *= 10 }
        }
        // Int64 nanoseconds reach 2262-04-11; later dates are out of range, not a trap.
        guard year >= 1970 && year <= 2261 else { return nil }
        let daysSinceEpoch = days(year: year, month: month, day: day)
        let seconds = daysSinceEpoch * 86_400 + hour * 3600 + minute * 60 + second
        return seconds * nanosecondsPerSecond + fraction
    }
}
