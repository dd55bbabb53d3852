import ArgumentParser
import Matching

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `clearledger match`: replays an order file through the matching engine.
struct MatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "match",
        abstract: "Replay an order file (CSV) through the matching engine and write every event as CSV.",
        discussion: """
            Input columns: \(OrderReplay.inputHeader)
            Output columns: \(OrderReplay.outputHeader)
            See README.md ("Order replay format") for the rules. Malformed rows become
            REJECTED events that name their line and field.
            """
    )

    @Option(name: .long, help: "The order file to replay ('-' for standard input).")
    var input: String

    @Option(name: .long, help: "Where to write the events (default: standard output).")
    var output: String?

    @Flag(name: .long, help: "Print a summary (rows, events by kind, rate) to standard error.")
    var summary = false

    func run() throws {
        let inputFD: Int32 = input == "-" ? STDIN_FILENO : open(input, O_RDONLY)
        guard inputFD >= 0 else {
            throw CommandError("input: cannot open \"\(input)\": \(String(cString: strerror(errno)))")
        }
        defer { if inputFD != STDIN_FILENO { close(inputFD) } }

        let outputFD: Int32
        if let output, output != "-" {
            outputFD = open(output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard outputFD >= 0 else {
                throw CommandError("output: cannot create \"\(output)\": \(String(cString: strerror(errno)))")
            }
        } else {
            outputFD = STDOUT_FILENO
        }
        defer { if outputFD != STDOUT_FILENO { close(outputFD) } }

        nonisolated(unsafe) var writeError: Int32 = 0
        var writer = EventCSVWriter { bytes in
            if writeError == 0, !writeAll(outputFD, bytes) { writeError = errno }
        }
        writer.writeString(OrderReplay.outputHeader + "\n")

        let started = monotonicNanoseconds()
        let replay = OrderReplay()
        let chunkSize = 4 << 20
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let n = read(inputFD, chunk.baseAddress, chunkSize)
            if n < 0 {
                if errno == EINTR { continue }
                throw CommandError("input: read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            replay.feed(UnsafeRawBufferPointer(rebasing: chunk[0..<n]), into: &writer)
        }
        replay.finish(into: &writer)
        if writeError != 0 {
            throw CommandError("output: write failed: \(String(cString: strerror(writeError)))")
        }
        if summary {
            let seconds = Double(monotonicNanoseconds() - started) / 1e9
            let kinds = ["ACCEPTED", "REJECTED", "TRADE", "CANCELED", "REPLACED", "EXPIRED"]
            let counts = zip(kinds, replay.eventCounts).map { "\($0)=\(grouped($1))" }.joined(separator: " ")
            let rate = seconds > 0 ? Int(Double(replay.rowCount) / seconds) : 0
            printError("replayed \(grouped(replay.rowCount)) rows (\(grouped(replay.malformedCount)) malformed) in \(formatted(seconds, decimals: 3)) s, \(grouped(rate)) rows/s")
            printError("events: \(counts)")
            printError("resting at end: \(grouped(replay.engine.restingOrderCount)) orders on \(grouped(replay.engine.priceLevelCount)) price levels")
        }
    }
}

/// A one-line error naming the field and value; the command exits with code 1.
struct CommandError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Writes every byte or reports failure (errno set); retries short writes and EINTR.
func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
    guard var base = bytes.baseAddress else { return true }
    var left = bytes.count
    while left > 0 {
        let n = write(fd, base, left)
        if n < 0 {
            if errno == EINTR { continue }
            return false
        }
        left -= n
        base += n
    }
    return true
}

func printError(_ message: String) {
    var line = message + "\n"
    line.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
