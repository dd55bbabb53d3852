/// A report from `Database/reports/NAME.sql`, written for plain psql with
/// quoted variables (`:'security'`), run here with those variables turned into
/// bind parameters (`$1`…): the same file serves both, and a user's value is
/// never part of the SQL text.
package struct Report: Sendable {
    package var name: String
    /// The SQL with `$n` in place of each `:'variable'`.
    package var sql: String
    /// Variable names in parameter order.
    package var variables: [String]

    package static func load(name: String, directory: String) throws(MirrorError) -> Report {
        guard !name.isEmpty, name.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }) else {
            throw MirrorError("report=\(name): names are lowercase letters, digits and '-'")
        }
        let path = directory + "/" + name + ".sql"
        guard let text = readTextFile(path) else {
            throw MirrorError("report=\(name): no file \(path) (reports: \(available(directory).joined(separator: ", ")))")
        }
        return try parse(name: name, text: text)
    }

    /// The report names in `directory`.
    package static func available(_ directory: String) -> [String] {
        listDirectory(directory).filter { $0.hasSuffix(".sql") }.map { String($0.dropLast(4)) }.sorted()
    }

    /// Rewrites `:'name'` outside string literals, quoted identifiers and
    /// comments. A trailing `;` is dropped (one statement per report).
    package static func parse(name: String, text: String) throws(MirrorError) -> Report {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var variables: [String] = []
        var i = 0
        func copyUntil(_ terminator: [UInt8]) {
            while i < bytes.count {
                if bytes[i...].starts(with: terminator) {
                    out.append(contentsOf: terminator); i += terminator.count; return
                }
                out.append(bytes[i]); i += 1
            }
        }
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
                // A doubled quote inside is two adjacent literals' worth of bytes: copying
                // up to each closing quote handles it.
                out.append(c); i += 1; copyUntil([c])
            } else if c == UInt8(ascii: "-"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "-") {
                copyUntil([0x0A])
            } else if c == UInt8(ascii: "/"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "*") {
                out.append(contentsOf: [c, bytes[i + 1]]); i += 2; copyUntil(Array("*/".utf8))
            } else if c == UInt8(ascii: ":"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "'") {
                guard let close = bytes[(i + 2)...].firstIndex(of: UInt8(ascii: "'")) else {
                    throw MirrorError("report=\(name): unterminated variable at byte \(i)")
                }
                let variable = String(decoding: bytes[(i + 2)..<close], as: UTF8.self)
                guard !variable.isEmpty, variable.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }) else {
                    throw MirrorError("report=\(name): bad variable name '\(variable)'")
                }
                let number: Int
                if let existing = variables.firstIndex(of: variable) {
                    number = existing + 1
                } else {
                    variables.append(variable)
                    number = variables.count
                }
                out.append(contentsOf: "$\(number)".utf8)
                i = close + 1
            } else if c == UInt8(ascii: ":"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: ":") {
                out.append(contentsOf: [c, c]); i += 2
            } else if c == UInt8(ascii: ":"), i + 1 < bytes.count, (bytes[i + 1] >= 0x61 && bytes[i + 1] <= 0x7A) {
                throw MirrorError("report=\(name): unquoted psql variable at byte \(i); write :'name' so the value is a literal")
            } else {
                out.append(c); i += 1
            }
        }
        var sql = String(decoding: out, as: UTF8.self)
        while let last = sql.last, last == ";" || last == " " || last == "\n" { sql.removeLast() }
        return Report(name: name, sql: sql, variables: variables)
    }

    /// Runs with `values` by variable name; a variable not given is the empty
    /// string, which every report reads as "default".
    package func run(_ connection: PostgresConnection, values: [String: String]) throws -> QueryResult {
        try connection.query(sql, variables.map { values[$0] ?? "" })
    }
}

/// Output formats of `clearledger report`.
package enum ReportFormat: String, CaseIterable, Sendable {
    case table, csv, json

    package func render(_ result: QueryResult) -> String {
        switch self {
        case .table:
            var widths = result.columns.map(\.count)
            let cells = result.rows.map { $0.map { $0 ?? "" } }
            for row in cells { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
            func line(_ row: [String]) -> String {
                var text = row.enumerated().map { i, cell in cell + String(repeating: " ", count: widths[i] - cell.count) }
                    .joined(separator: "  ")
                while text.last == " " { text.removeLast() }
                return text
            }
            var lines = [line(result.columns), line(widths.map { String(repeating: "-", count: $0) })]
            lines += cells.map(line)
            lines.append("(\(result.rows.count) row\(result.rows.count == 1 ? "" : "s"))")
            return lines.joined(separator: "\n")
        case .csv:
            func field(_ value: String?) -> String {
                guard let value else { return "" }
                guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
                return "\"" + value.replacingAll("\"", with: "\"\"") + "\""
            }
            return ([result.columns.map(field).joined(separator: ",")] + result.rows.map { $0.map(field).joined(separator: ",") })
                .joined(separator: "\n")
        case .json:
            // Values stay strings (as PostgreSQL printed them): bigint and numeric keep
            // every digit, which a JSON number would not promise.
            let objects = result.rows.map { row in
                "{" + zip(result.columns, row).map { "\(jsonString($0)):\($1.map(jsonString) ?? "null")" }.joined(separator: ",") + "}"
            }
            return "[" + objects.joined(separator: ",\n ") + "]"
        }
    }
}

func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func readTextFile(_ path: String, limit: Int = 16 << 20) -> String? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        if n > 0 { bytes.append(contentsOf: buffer[0..<n]) }
        if bytes.count > limit { return nil }
        if n < buffer.count { break }
    }
    return String(validating: bytes, as: UTF8.self)
}

func listDirectory(_ path: String) -> [String] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        if !name.hasPrefix(".") { names.append(name) }
    }
    return names
}
