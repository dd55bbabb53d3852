import ArgumentParser
import Matching

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `clearledger bench matching`: single-thread engine throughput and per-order
/// service time on a generated, seeded order flow.
struct BenchMatchingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matching",
        abstract: "Benchmark the matching engine on one thread (exchange-core or deep mix)."
    )

    @Option(help: "Commands in the measured phase.")
    var orders: Int = 10_000_000

    @Option(help: "Order mix: exchange-core or deep.")
    var mix: String = MatchingWorkload.Mix.exchangeCore.rawValue

    @Option(help: "Seed of the generated order flow.")
    var seed: UInt64 = 1

    @Flag(help: "End with one JSON line of the results.")
    var json = false

    @Option(name: .customLong("write-orders"),
            help: "Write the generated order flow as an order file for `clearledger match` and stop.")
    var writeOrders: String?

    func validate() throws {
        guard orders > 0 && orders <= 200_000_000 else {
            throw ValidationError("orders: must be between 1 and 200000000, got \(orders)")
        }
        guard MatchingWorkload.Mix(rawValue: mix) != nil else {
            throw ValidationError("mix: unknown mix \"\(mix)\" (exchange-core, deep)")
        }
    }

    func run() throws {
        guard let mix = MatchingWorkload.Mix(rawValue: mix) else { return }
        #if DEBUG
        printError("warning: this is a debug build; measure with `swift run -c release clearledger bench matching`")
        #endif
        print("bench matching: mix=\(mix.rawValue) orders=\(grouped(orders)) seed=\(seed)")
        print("generating order flow...")
        let generationStart = monotonicNanoseconds()
        let workload = MatchingWorkload.generate(mix, orders: orders, seed: seed)
        print("generated \(grouped(workload.setup.count)) setup + \(grouped(workload.measured.count)) measured commands in \(formatted(Double(monotonicNanoseconds() - generationStart) / 1e9)) s")
        if let writeOrders {
            try writeOrderFile(workload, to: writeOrders)
            print("wrote \(grouped(workload.setup.count + workload.measured.count)) rows to \(writeOrders)")
            return
        }

        // Pass 1: throughput, no per-order timing in the loop.
        let engine = workload.makeEngine()
        let restingAtStart = engine.restingOrderCount
        var eventCounts = [Int](repeating: 0, count: 6)
        let half = workload.measured.count / 2
        var rssAtHalf = 0.0
        let start = monotonicNanoseconds()
        workload.measured.withUnsafeBufferPointer { commands in
            for i in 0..<commands.count {
                engine.apply(commands[i])
                if engine.events.count >= 4096 {
                    for event in engine.events { eventCounts[Int(event.kind.rawValue)] += 1 }
                    engine.removeAllEvents()
                }
                if i == half { rssAtHalf = currentResidentMegabytes() }
            }
        }
        let elapsed = monotonicNanoseconds() - start
        for event in engine.events { eventCounts[Int(event.kind.rawValue)] += 1 }
        engine.removeAllEvents()
        let rssAtEnd = currentResidentMegabytes()
        let throughput = Double(workload.measured.count) / (Double(elapsed) / 1e9)
        let trades = eventCounts[Int(MatchEvent.Kind.trade.rawValue)]

        // Pass 2: the same flow on a fresh engine, timing every command.
        let timedEngine = workload.makeEngine()
        var histogram = LatencyHistogram()
        workload.measured.withUnsafeBufferPointer { commands in
            for i in 0..<commands.count {
                let t0 = monotonicNanoseconds()
                timedEngine.apply(commands[i])
                let t1 = monotonicNanoseconds()
                histogram.record(t1 - t0)
                if timedEngine.events.count >= 4096 { timedEngine.removeAllEvents() }
            }
        }
        let p50 = Double(histogram.percentile(0.50)) / 1000
        let p99 = Double(histogram.percentile(0.99)) / 1000
        let p999 = Double(histogram.percentile(0.999)) / 1000
        let peak = peakResidentMegabytes()

        print("throughput:   \(grouped(Int(throughput))) orders/s (\(grouped(workload.measured.count)) commands in \(formatted(Double(elapsed) / 1e9, decimals: 3)) s)")
        print("service time: p50 \(formatted(p50, decimals: 3)) us, p99 \(formatted(p99, decimals: 3)) us, p99.9 \(formatted(p999, decimals: 3)) us, max \(formatted(Double(histogram.maximum) / 1000, decimals: 1)) us (includes ~20 ns clock read)")
        print("trades:       \(grouped(trades)) (\(formatted(100 * Double(trades) / Double(workload.measured.count), decimals: 1)) per 100 commands)")
        print("book:         \(grouped(restingAtStart)) resting at start, \(grouped(engine.restingOrderCount)) at end, \(grouped(engine.priceLevelCount)) levels")
        print("memory:       RSS \(formatted(rssAtHalf, decimals: 1)) MiB at half, \(formatted(rssAtEnd, decimals: 1)) MiB at end, peak \(formatted(peak, decimals: 1)) MiB (includes the generated commands)")
        if json {
            var line = JSONLine()
            line.add("bench", "matching")
            line.add("mix", mix.rawValue)
            line.add("seed", seed)
            line.add("orders", workload.measured.count)
            line.add("throughput_per_sec", throughput)
            line.add("unit", "orders")
            line.add("p50_us", p50)
            line.add("p99_us", p99)
            line.add("p999_us", p999)
            line.add("peak_rss_mb", peak)
            line.add("rss_half_mb", rssAtHalf)
            line.add("rss_end_mb", rssAtEnd)
            line.add("trades", trades)
            line.add("resting_at_end", engine.restingOrderCount)
            print(line.text)
        }
    }

    private func writeOrderFile(_ workload: MatchingWorkload, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw CommandError("write-orders: cannot create \"\(path)\": \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        nonisolated(unsafe) var failure: Int32 = 0
        var writer = EventCSVWriter { bytes in
            if failure == 0, !writeAll(fd, bytes) { failure = errno }
        }
        workload.writeOrderFile(into: &writer)
        if failure != 0 {
            throw CommandError("write-orders: write to \"\(path)\" failed: \(String(cString: strerror(failure)))")
        }
    }
}
