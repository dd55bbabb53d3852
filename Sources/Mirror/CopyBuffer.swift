/// Rows in PostgreSQL's COPY text format: tab between fields, newline after a
/// row, `\N` for NULL, and backslash, tab, newline and carriage return escaped
/// in text so that an account name can never end a field or a row.
struct CopyBuffer {
    private(set) var bytes: [UInt8] = []
    private(set) var rows = 0
    private var fieldsInRow = 0

    init(capacity: Int = 4096) { bytes.reserveCapacity(capacity) }

    private mutating func separator() {
        if fieldsInRow > 0 { bytes.append(0x09) }
        fieldsInRow += 1
    }

    mutating func int<I: BinaryInteger>(_ value: I) {
        separator()
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func null() {
        separator()
        bytes.append(0x5C); bytes.append(0x4E)
    }

    mutating func bool(_ value: Bool) {
        separator()
        bytes.append(value ? 0x74 : 0x66)
    }

    mutating func text(_ value: String) {
        separator()
        for byte in value.utf8 {
            switch byte {
            case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
            case 0x09: bytes.append(0x5C); bytes.append(0x74)
            case 0x0A: bytes.append(0x5C); bytes.append(0x6E)
            case 0x0D: bytes.append(0x5C); bytes.append(0x72)
            case 0x00: continue // PostgreSQL text cannot hold NUL; the ledger's strings never do.
            default: bytes.append(byte)
            }
        }
    }

    /// bytea in hex input form; the backslash of `\x` is itself escaped for COPY.
    mutating func bytea<Bytes: Sequence>(_ value: Bytes) where Bytes.Element == UInt8 {
        separator()
        bytes.append(0x5C); bytes.append(0x5C); bytes.append(0x78)
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        for byte in value {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0x0F)])
        }
    }

    mutating func endRow() {
        bytes.append(0x0A)
        rows += 1
        fieldsInRow = 0
    }
}
