/// How a security's prices map to integer ticks: `scale` decimal places of the
/// currency's minor unit (2 for cents), and a tick of `tickSize` minor units.
/// With scale 2 and tick 1, "10.25" is 1025 ticks; with tick 5, it is 205.
public struct FIXPriceFormat: Sendable, Equatable {
    public let scale: Int
    public let tickSize: Int64

    public init(scale: Int = 2, tickSize: Int64 = 1) {
        precondition((0...12).contains(scale) && tickSize > 0, "price format out of range")
        self.scale = scale
        self.tickSize = tickSize
    }

    public static let cents = FIXPriceFormat()
}

public enum FIXPriceError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case negative(String)
    case tooPrecise(String)
    case offTickGrid(String)
    case outOfRange(String)

    public var description: String {
        switch self {
        case .malformed(let v): return "price '\(v)' is not a decimal number"
        case .negative(let v): return "price '\(v)' is negative"
        case .tooPrecise(let v): return "price '\(v)' has more decimals than the price scale"
        case .offTickGrid(let v): return "price '\(v)' is not on the tick grid"
        case .outOfRange(let v): return "price '\(v)' is out of range"
        }
    }
}

/// FIX decimal strings to integer ticks and back, exactly: no floating point,
/// never rounded. A price that cannot be represented is an error the gateway
/// turns into a reject.
public enum FIXPrice {
    /// Accepts `digits[.digits]` (also `.5` and `5.`); trailing zeros beyond the
    /// scale are fine, any other extra digit is `tooPrecise`. Signs, exponents,
    /// spaces and anything else are `malformed` (a leading '-' is `negative`).
    public static func ticks<C: Collection>(_ value: C, format: FIXPriceFormat) throws(FIXPriceError) -> Int64
    where C.Element == UInt8 {
        func text() -> String { String(decoding: value, as: UTF8.self) }
        var minor: Int64 = 0
        var fractionDigits = 0
        var sawPoint = false
        var digits = 0
        var first = true
        for c in value {
            defer { first = false }
            if c == UInt8(ascii: "-") && first { throw .negative(text()) }
            if c == UInt8(ascii: ".") {
                if sawPoint { throw .malformed(text()) }
                sawPoint = true
                continue
            }
            let d = c &- UInt8(ascii: "0")
            guard d < 10 else { throw .malformed(text()) }
            digits += 1
            if sawPoint {
                fractionDigits += 1
                if fractionDigits > format.scale {
                    if d != 0 { throw .tooPrecise(text()) }
                    continue
                }
            }
            let (m, o1) = minor.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(d))
            if o1 || o2 { throw .outOfRange(text()) }
            minor = s
        }
        guard digits > 0 else { throw .malformed(text()) }
        var pad = format.scale - min(fractionDigits, format.scale)
        while pad > 0 {
            let (m, o) = minor.multipliedReportingOverflow(by: 10)
            if o { throw .outOfRange(text()) }
            minor = m
            pad -= 1
        }
        guard minor % format.tickSize == 0 else { throw .offTickGrid(text()) }
        return minor / format.tickSize
    }

    public static func ticks(_ value: String, format: FIXPriceFormat) throws(FIXPriceError) -> Int64 {
        try ticks(Array(value.utf8), format: format)
    }

    /// Ticks as a FIX decimal with exactly `scale` decimals.
    public static func decimal(ticks: Int64, format: FIXPriceFormat) -> FIXDecimal {
        FIXDecimal(units: ticks.multipliedReportingOverflow(by: format.tickSize).partialValue, scale: format.scale)
    }
}

/// An exact decimal `units × 10^-scale`, for writing prices and AvgPx.
public struct FIXDecimal: Sendable, Equatable, CustomStringConvertible {
    public let units: Int64
    public let scale: Int

    public init(units: Int64, scale: Int) {
        self.units = units
        self.scale = max(0, min(scale, 18))
    }

    /// AvgPx = cash / quantity, truncated to `scale` decimals (AvgPx is
    /// informational; the ledger moves the exact cash). Nil for zero quantity.
    public static func average(totalMinorUnits: Int64, quantity: Int64, format: FIXPriceFormat, extraDecimals: Int = 4) -> FIXDecimal? {
        guard quantity > 0 else { return nil }
        var scaled = totalMinorUnits
        var scale = format.scale
        for _ in 0..<extraDecimals {
            let (m, o) = scaled.multipliedReportingOverflow(by: 10)
            if o { break }
            scaled = m
            scale += 1
        }
        return FIXDecimal(units: scaled / quantity, scale: scale)
    }

    func append(to out: inout [UInt8]) {
        var digits: [UInt8] = []
        var v = units.magnitude
        repeat {
            digits.append(UInt8(ascii: "0") + UInt8(v % 10))
            v /= 10
        } while v > 0
        while digits.count <= scale { digits.append(UInt8(ascii: "0")) }
        if units < 0 { out.append(UInt8(ascii: "-")) }
        var i = digits.count
        while i > 0 {
            i -= 1
            out.append(digits[i])
            if i == scale && scale > 0 { out.append(UInt8(ascii: ".")) }
        }
    }

    public var description: String {
        var out: [UInt8] = []
        append(to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

extension FIXDecimal {
    /// `digits[.digits]` with an optional leading '-', up to 18 significant digits.
    public init?<C: Collection>(parsing value: C) where C.Element == UInt8 {
        var units: Int64 = 0
        var scale = 0
        var sawPoint = false
        var digits = 0
        var negative = false
        var first = true
        for c in value {
            defer { first = false }
            if first && c == UInt8(ascii: "-") {
                negative = true
                continue
            }
            if c == UInt8(ascii: ".") {
                if sawPoint { return nil }
                sawPoint = true
                continue
            }
            let d = c &- UInt8(ascii: "0")
            guard d < 10, digits < 18 else { return nil }
            units = units * 10 + Int64(d)
            digits += 1
            if sawPoint { scale += 1 }
        }
        guard digits > 0 else { return nil }
        self.init(units: negative ? -units : units, scale: scale)
    }
}
