import Benchmark
import Cryptography
import Matching

#if canImport(Glibc)
import Glibc
#endif

// Micro-benchmarks of the matching engine, the order replay and the
// cryptography the consensus path pays for. Run with `swift package benchmark`
// from Benchmarks/ (see Benchmarks/README.md).
//
// Everything a benchmark needs is built outside the measured region: workloads
// are generated once (lazily, on first use), and every iteration builds its
// engine and warms it up before `startMeasurement()`. Only the commands between
// `startMeasurement()` and `stopMeasurement()` count, so the malloc counters
// show what a warmed-up engine allocates in steady state.
//
// With `scalingFactor: .mega` one iteration is 1,000,000 commands (or rows),
// and the scaled columns (marked `*`) are per command. The built-in throughput
// is `Int(1e9 / ns-per-iteration)`, which for a 0.2 s iteration is only good to
// one significant digit, so each benchmark also reports an exact rate of its
// own as the custom metric `ops/s`. For malloc counts per iteration (not
// rounded down to 0 per command) run with `--scale`.
//
// Metrics: the default set without `.peakMemoryResident`, and no ARC metrics.
// The ARC metrics (.retainCount, .releaseCount, .arc, .all) crash with the
// MallocInterposer trait on Swift 6.3. `.peakMemoryResident` starts a thread
// that samples /proc every 5 ms; that thread allocates, and the interposer
// counts every thread's mallocs, which added about 400 mallocs a second to the
// measured region here. Resident memory is read here instead, outside the
// measured region. Even so the harness counts 16 mallocs (35 KB) of its own
// per iteration: see "Harness/empty measured region".

/// Exact operations per second of the measured loop (the built-in throughput
/// metric is an integer count of iterations per second).
let opsPerSecond = BenchmarkMetric.custom("ops/s", polarity: .prefersLarger, useScalingFactor: false)
/// Resident memory of the process right after the measured loop.
let residentMegabytes = BenchmarkMetric.custom("RSS after (MB)", useScalingFactor: false)
/// How much resident memory grew during the measured loop (flat in steady state).
let residentGrowthKilobytes = BenchmarkMetric.custom("RSS growth in loop (KB)", useScalingFactor: false)

let metrics: [BenchmarkMetric] = [
    .wallClock, .cpuTotal, .throughput, .mallocCountTotal, .freeCountTotal, .mallocBytesCount, .mallocFreeDelta,
    opsPerSecond, residentMegabytes, residentGrowthKilobytes,
]

/// Commands (or rows) in one measured iteration: `.mega`.
let measuredPerIteration = 1_000_000

/// Commands applied, unmeasured, on each fresh engine before the measured ones,
/// so that the pools, the id index, the id history and the event buffer have
/// reached their working size.
let exchangeCoreWarmUp = 250_000
let deepWarmUp = 100_000

/// Events are drained every this many commands, as the exchange's sequencer would.
let drainEvery = 4096

// Generated once, on first use (outside the measured region), then shared by
// every iteration. Seeded: every run replays exactly the same flow.
let exchangeCoreWorkload = MatchingWorkload.generate(.exchangeCore, orders: exchangeCoreWarmUp + measuredPerIteration,
                                                     seed: 1)
let deepWorkload = MatchingWorkload.generate(.deep, orders: deepWarmUp + measuredPerIteration, seed: 1)
let replayInput = ReplayInput(exchangeCoreWorkload, warmUpCommands: exchangeCoreWarmUp)

let benchmarks: @Sendable () -> Void = {
    let matching = Benchmark.Configuration(
        metrics: metrics,
        warmupIterations: 1,
        scalingFactor: .mega,
        maxDuration: .seconds(30),
        maxIterations: 10
    )

    // Calibration: what the harness itself counts for one iteration with nothing
    // in the measured region. Subtract it from the raw per-iteration malloc
    // counts of the benchmarks below (`--scale` shows them unscaled).
    Benchmark("Harness/empty measured region", configuration: matching) { benchmark in
        let clock = ContinuousClock()
        benchmark.startMeasurement()
        let start = clock.now
        let elapsed = start.duration(to: clock.now)
        benchmark.stopMeasurement()
        record(benchmark, operations: 0, in: elapsed, residentBefore: residentBytes())
    }

    Benchmark("Matching/exchange-core mix", configuration: matching) { benchmark in
        runMatching(benchmark, exchangeCoreWorkload, warmUp: exchangeCoreWarmUp)
    }

    Benchmark("Matching/deep mix", configuration: matching) { benchmark in
        runMatching(benchmark, deepWorkload, warmUp: deepWarmUp)
    }

    Benchmark("Matching/replay CSV parse", configuration: matching) { benchmark in
        runReplay(benchmark, replayInput)
    }

    let crypto = Benchmark.Configuration(
        metrics: metrics,
        warmupIterations: 2,
        scalingFactor: .kilo,
        maxDuration: .seconds(5),
        maxIterations: 50
    )

    Benchmark("Cryptography/sha256 64B", configuration: crypto) { benchmark in
        var message = [UInt8](repeating: 0, count: 64)
        for i in 0..<message.count { message[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 7) }
        message.withUnsafeBytes { bytes in
            let clock = ContinuousClock()
            benchmark.startMeasurement()
            let start = clock.now
            for _ in benchmark.scaledIterations {
                blackHole(SHA256.hash(bytes))
            }
            let elapsed = start.duration(to: clock.now)
            benchmark.stopMeasurement()
            record(benchmark, operations: benchmark.scaledIterations.count, in: elapsed)
        }
    }

    Benchmark("Cryptography/sha256 64B reused hasher", configuration: crypto) { benchmark in
        var message = [UInt8](repeating: 0, count: 64)
        for i in 0..<message.count { message[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 7) }
        let hasher = SHA256Hasher()
        message.withUnsafeBytes { bytes in
            let clock = ContinuousClock()
            benchmark.startMeasurement()
            let start = clock.now
            for _ in benchmark.scaledIterations {
                hasher.update(bytes)
                blackHole(hasher.finalize())
            }
            let elapsed = start.duration(to: clock.now)
            benchmark.stopMeasurement()
            record(benchmark, operations: benchmark.scaledIterations.count, in: elapsed)
        }
    }

    Benchmark("Cryptography/ed25519 sign", configuration: crypto) { benchmark in
        guard let key = ed25519Key(benchmark) else { return }
        let message = ed25519Message()
        let clock = ContinuousClock()
        benchmark.startMeasurement()
        let start = clock.now
        for _ in benchmark.scaledIterations {
            do {
                blackHole(try key.signature(for: message))
            } catch {
                benchmark.error("ed25519 sign failed: \(error)")
                return
            }
        }
        let elapsed = start.duration(to: clock.now)
        benchmark.stopMeasurement()
        record(benchmark, operations: benchmark.scaledIterations.count, in: elapsed)
    }

    Benchmark("Cryptography/ed25519 verify", configuration: crypto) { benchmark in
        guard let key = ed25519Key(benchmark) else { return }
        let message = ed25519Message()
        guard let signature = try? key.signature(for: message) else {
            benchmark.error("ed25519 sign failed")
            return
        }
        let publicKey = key.publicKey
        var valid = 0
        let clock = ContinuousClock()
        benchmark.startMeasurement()
        let start = clock.now
        for _ in benchmark.scaledIterations {
            if publicKey.isValidSignature(signature, for: message) { valid += 1 }
        }
        let elapsed = start.duration(to: clock.now)
        benchmark.stopMeasurement()
        if valid != benchmark.scaledIterations.count {
            benchmark.error("ed25519 verify rejected \(benchmark.scaledIterations.count - valid) valid signatures")
        }
        record(benchmark, operations: benchmark.scaledIterations.count, in: elapsed)
    }
}

// MARK: - Matching

/// One iteration: a fresh engine with the workload's setup, `warmUp` commands
/// unmeasured, then `scaledIterations.count` commands measured.
func runMatching(_ benchmark: Benchmark, _ workload: MatchingWorkload, warmUp: Int) {
    let count = benchmark.scaledIterations.count
    guard workload.measured.count >= warmUp + count else {
        benchmark.error("workload has \(workload.measured.count) commands, needs \(warmUp + count)")
        return
    }
    let engine = workload.makeEngine()
    var eventCount = 0
    workload.measured.withUnsafeBufferPointer { commands in
        for i in 0..<warmUp {
            engine.apply(commands[i])
            if (i + 1) % drainEvery == 0 { engine.removeAllEvents() }
        }
        engine.removeAllEvents()

        let residentBefore = residentBytes()
        let clock = ContinuousClock()
        benchmark.startMeasurement()
        let start = clock.now
        var sinceDrain = 0
        for i in warmUp..<(warmUp + count) {
            engine.apply(commands[i])
            sinceDrain += 1
            if sinceDrain == drainEvery {
                eventCount &+= engine.events.count
                engine.removeAllEvents()
                sinceDrain = 0
            }
        }
        let elapsed = start.duration(to: clock.now)
        benchmark.stopMeasurement()
        record(benchmark, operations: count, in: elapsed, residentBefore: residentBefore)
    }
    blackHole(eventCount)
    blackHole(engine.restingOrderCount)
}

// MARK: - Replay

/// The exchange-core flow as an order file (DESIGN.md, "Order replay format"):
/// header, setup and warm-up rows, then exactly `measuredPerIteration` rows.
struct ReplayInput: Sendable {
    var bytes: [UInt8]
    /// Where the measured rows start (a line boundary).
    var measuredOffset: Int
    var measuredRows: Int

    init(_ workload: MatchingWorkload, warmUpCommands: Int) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity((workload.setup.count + workload.measured.count) * 48)
        bytes.append(contentsOf: OrderReplay.inputHeader.utf8)
        bytes.append(0x0A)
        let symbol = workload.symbols[0].symbol
        var seq: Int64 = 0
        func append(_ command: MatchingCommand) {
            seq += 1
            let order = command.order
            let row: String
            switch command.kind {
            case .submit:
                let side = order.side == .buy ? "BUY" : "SELL"
                if order.kind == .market {
                    row = "\(seq),MARKET,\(order.id),\(order.account),\(symbol),\(side),,\(order.quantity),"
                } else {
                    row = "\(seq),LIMIT,\(order.id),\(order.account),\(symbol),\(side),\(order.price),"
                        + "\(order.quantity),\(order.timeInForce)"
                }
            case .cancel:
                row = "\(seq),CANCEL,\(order.id),,,,,,"
            case .replace:
                row = "\(seq),REPLACE,\(order.id),,,,\(order.price),\(order.quantity),"
            case .endOfDay:
                row = "\(seq),END_OF_DAY,,,,,,,"
            }
            bytes.append(contentsOf: row.utf8)
            bytes.append(0x0A)
        }
        for command in workload.setup { append(command) }
        for command in workload.measured.prefix(warmUpCommands) { append(command) }
        measuredOffset = bytes.count
        let measured = workload.measured.dropFirst(warmUpCommands).prefix(measuredPerIteration)
        for command in measured { append(command) }
        measuredRows = measured.count
        self.bytes = bytes
    }
}

/// The `clearledger match` command reads its input in chunks of this size.
let replayChunkSize = 4 << 20

/// Feeds `bytes[range]` to `replay` in chunks, as `clearledger match` reads a file.
func feed(_ replay: OrderReplay, _ bytes: UnsafeRawBufferPointer, _ range: Range<Int>,
          into writer: inout EventCSVWriter) {
    var offset = range.lowerBound
    while offset < range.upperBound {
        let end = min(offset + replayChunkSize, range.upperBound)
        replay.feed(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]), into: &writer)
        offset = end
    }
}

/// One iteration: a fresh replay (engine as `clearledger match` builds it), the
/// setup and warm-up rows unmeasured, then the measured rows parsed, matched and
/// written as event CSV into a sink that only counts bytes.
func runReplay(_ benchmark: Benchmark, _ input: ReplayInput) {
    guard input.measuredRows == benchmark.scaledIterations.count else {
        benchmark.error("replay input has \(input.measuredRows) measured rows, needs \(benchmark.scaledIterations.count)")
        return
    }
    let replay = OrderReplay()
    var written = 0
    var writer = EventCSVWriter { written &+= $0.count }
    input.bytes.withUnsafeBytes { bytes in
        feed(replay, bytes, 0..<input.measuredOffset, into: &writer)
        writer.flush()
        let rowsBefore = replay.rowCount

        let residentBefore = residentBytes()
        let clock = ContinuousClock()
        benchmark.startMeasurement()
        let start = clock.now
        feed(replay, bytes, input.measuredOffset..<bytes.count, into: &writer)
        replay.finish(into: &writer)
        let elapsed = start.duration(to: clock.now)
        benchmark.stopMeasurement()

        let rows = replay.rowCount - rowsBefore
        if rows != input.measuredRows || replay.malformedCount != 0 {
            benchmark.error("replayed \(rows) rows (\(replay.malformedCount) malformed), expected \(input.measuredRows)")
        }
        record(benchmark, operations: rows, in: elapsed, residentBefore: residentBefore)
    }
    blackHole(written)
}

// MARK: - Cryptography

func ed25519Key(_ benchmark: Benchmark) -> Ed25519PrivateKey? {
    // RFC 8032 section 7.1, test 1.
    let seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
    do {
        return try Ed25519PrivateKey(seed: Hex.decode(seed))
    } catch {
        benchmark.error("ed25519 key: \(error)")
        return nil
    }
}

/// A 64-byte message: the size of what a replica signs (a digest and a few fields).
func ed25519Message() -> [UInt8] {
    (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
}

// MARK: - Helpers

/// Records the exact rate and the resident memory after the loop (and its growth
/// during the loop when `residentBefore` is given). Call after `stopMeasurement()`.
func record(_ benchmark: Benchmark, operations: Int, in elapsed: Duration, residentBefore: Int? = nil) {
    let (seconds, attoseconds) = elapsed.components
    let nanoseconds = Double(seconds) * 1e9 + Double(attoseconds) / 1e9
    if operations > 0, nanoseconds > 0 {
        benchmark.measurement(opsPerSecond, Int((Double(operations) * 1e9 / nanoseconds).rounded()))
    }
    if let resident = residentBytes() {
        benchmark.measurement(residentMegabytes, resident >> 20)
        if let residentBefore {
            benchmark.measurement(residentGrowthKilobytes, max(resident - residentBefore, 0) >> 10)
        }
    }
}

/// Current resident set size from /proc/self/statm (Linux); nil elsewhere.
func residentBytes() -> Int? {
    #if os(Linux)
    let fd = open("/proc/self/statm", O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buffer = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
    return withUnsafeMutableBytes(of: &buffer) { raw -> Int? in
        let n = read(fd, raw.baseAddress, raw.count)
        guard n > 0 else { return nil }
        // "size resident shared text lib data dt", in pages.
        var field = 0
        var value = 0
        for i in 0..<n {
            let byte = raw[i]
            if byte == UInt8(ascii: " ") {
                if field == 1 { break }
                field += 1
                value = 0
            } else if field == 1, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
        }
        return value * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
    #else
    return nil
    #endif
}
