#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic nanoseconds, for measuring; nothing in the pure modules reads it.
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

/// Peak resident set size of this process so far, in MiB.
func peakResidentMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    #if os(Linux)
    return Double(usage.ru_maxrss) / 1024
    #else
    return Double(usage.ru_maxrss) / 1_048_576
    #endif
}

/// Current resident set size in MiB (Linux: /proc/self/statm), to show that memory
/// stays flat during a run.
func currentResidentMegabytes() -> Double {
    #if os(Linux)
    let fd = open("/proc/self/statm", O_RDONLY)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 128)
    let n = read(fd, &buffer, buffer.count)
    guard n > 0 else { return 0 }
    let fields = String(decoding: buffer[0..<n], as: UTF8.self).split(separator: " ")
    guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
    return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    #else
    return peakResidentMegabytes()
    #endif
}

/// Log-linear latency histogram (about 1 % resolution) with a fixed bucket array:
/// recording a sample allocates nothing and costs a few instructions.
struct LatencyHistogram {
    private static let subBuckets = 128
    private var counts = [UInt64](repeating: 0, count: 64 * 128)
    private(set) var total: UInt64 = 0
    private(set) var maximum: UInt64 = 0

    @inline(__always)
    mutating func record(_ nanoseconds: UInt64) {
        total += 1
        if nanoseconds > maximum { maximum = nanoseconds }
        counts[Self.bucket(nanoseconds)] += 1
    }

    @inline(__always)
    private static func bucket(_ value: UInt64) -> Int {
        if value < UInt64(subBuckets) { return Int(value) }
        let magnitude = 63 - value.leadingZeroBitCount          // >= 7
        let shift = magnitude - 6                                // keep 7 significant bits
        let mantissa = Int(value >> UInt64(shift)) - 64           // 0..<64
        return subBuckets + (shift - 1) * 64 + mantissa
    }

    private static func lowerBound(ofBucket index: Int) -> UInt64 {
        if index < subBuckets { return UInt64(index) }
        let shift = (index - subBuckets) / 64 + 1
        let mantissa = (index - subBuckets) % 64 + 64
        return UInt64(mantissa) << UInt64(shift)
    }

    /// The value below which `fraction` of the samples fall (bucket lower bound).
    func percentile(_ fraction: Double) -> UInt64 {
        guard total > 0 else { return 0 }
        let rank = UInt64((Double(total) * fraction).rounded(.up))
        var seen: UInt64 = 0
        for (index, count) in counts.enumerated() where count > 0 {
            seen += count
            if seen >= max(rank, 1) { return Self.lowerBound(ofBucket: index) }
        }
        return maximum
    }
}

/// Formats a rate or count with thousands separators for humans.
func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return value < 0 ? "-" + out : out
}

func formatted(_ value: Double, decimals: Int = 2) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = String(rounded)
    if let dot = text.firstIndex(of: ".") {
        let fraction = text[text.index(after: dot)...]
        if fraction.count < decimals { text += String(repeating: "0", count: decimals - fraction.count) }
    } else if decimals > 0 {
        text += "." + String(repeating: "0", count: decimals)
    }
    return text
}

/// A JSON object built from ordered key/value pairs, for the `--json` last line
/// every benchmark prints (DESIGN.md, "Command-line conventions").
struct JSONLine {
    private var parts: [String] = []

    mutating func add(_ key: String, _ value: String) { parts.append("\"\(key)\":\"\(escape(value))\"") }
    mutating func add(_ key: String, _ value: Int) { parts.append("\"\(key)\":\(value)") }
    mutating func add(_ key: String, _ value: UInt64) { parts.append("\"\(key)\":\(value)") }
    mutating func add(_ key: String, _ value: Double) {
        parts.append("\"\(key)\":\(value.isFinite ? formatted(value, decimals: 3) : "null")")
    }
    mutating func add(_ key: String, _ value: Bool) { parts.append("\"\(key)\":\(value)") }

    var text: String { "{" + parts.joined(separator: ",") + "}" }

    private func escape(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default:
                if scalar.value < 0x20 { out += "\\u00" + (scalar.value < 16 ? "0" : "") + String(scalar.value, radix: 16) }
                else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
}
