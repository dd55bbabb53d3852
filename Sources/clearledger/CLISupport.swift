import ArgumentParser
import Cryptography
import Foundation
import Ledger

/// Runs a command body, turning every error into one line on stderr and exit
/// code 1, so that no multi-line dump or stack reaches the user.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode.failure
    }
}

func readText(_ path: String, field: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CommandError("\(field)=\(path): cannot read the file")
    }
    guard data.count <= 16 * 1024 * 1024, let text = String(data: data, encoding: .utf8) else {
        throw CommandError("\(field)=\(path): not a UTF-8 text file of at most 16 MiB")
    }
    return text
}

func loadPrivateKey(_ path: String, field: String = "--key") throws -> Ed25519PrivateKey {
    do { return try Ed25519PrivateKey(pemRepresentation: try readText(path, field: field)) } catch let error as CryptographyError {
        throw CommandError("\(field)=\(path): \(error)")
    }
}

func loadPublicKey(_ path: String, field: String) throws -> Ed25519PublicKey {
    do { return try Ed25519PublicKey(pemRepresentation: try readText(path, field: field)) } catch let error as CryptographyError {
        throw CommandError("\(field)=\(path): \(error)")
    }
}

/// The block timestamp a single-member ledger carries in: wall-clock microseconds.
/// The clock is read here, in the shell, never inside the ledger.
func nowMicroseconds() -> Timestamp {
    Timestamp(Date().timeIntervalSince1970 * 1_000_000)
}

enum LedgerDirectory {
    static func genesisPath(_ directory: String) -> String { directory + "/genesis.json" }

    static func open(_ directory: String) throws -> LedgerNode {
        let path = genesisPath(directory)
        guard FileManager.default.fileExists(atPath: path) else {
            throw CommandError("--ledger=\(directory): not a ledger directory (no genesis.json; run `clearledger ledger init`)")
        }
        let genesis = try GenesisFile.load(path)
        do { return try LedgerNode(directory: directory, genesis: genesis) } catch {
            throw CommandError("--ledger=\(directory): \(error)")
        }
    }
}

/// Left-aligned text, right-aligned numbers, columns as wide as their widest cell.
enum Table {
    static func render(_ headers: [String], _ rows: [[String]], numeric: Set<Int> = []) -> String {
        var widths = headers.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: max(0, widths[i] - cell.count))
                return numeric.contains(i) ? pad + cell : cell + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        var out = [line(headers), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        out += rows.map(line)
        return out.joined(separator: "\n")
    }
}

/// Peak resident set size from /proc (Linux), in MiB.
func peakRSSMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kb / 1024
    }
    return 0
}
