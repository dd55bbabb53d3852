import Foundation
import Testing

@Suite struct CrashTests {
    /// SIGKILLs a child that appends blocks in a loop, at seeded random moments,
    /// then checks the store opens, keeps every block the child reported durable,
    /// the chain links, and snapshot + replay equals full replay (`ledger verify`).
    @Test func sigkillDuringAppendNeverLosesADurableBlock() throws {
        let seed = ProcessInfo.processInfo.environment["CLEARLEDGER_KILL_SEED"].flatMap(UInt64.init)
            ?? UInt64.random(in: 1...UInt64(UInt32.max))
        var rng = TestRNG(state: seed)
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = dir + "/ledger"
        var durable = 0
        var truncatedTotal = 0
        var killedWhileAppending = 0
        for round in 0..<25 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLI.binary.path)
            // Records of ~12 KB written in 2 KB pieces 200 µs apart: most kills land
            // inside a record, so torn tails really happen and must be cut off.
            process.arguments = ["ledger", "_append-forever", "--data", data, "--seed", String(seed &+ UInt64(round)), "--trades", "200",
                                 "--torn-write-chunk", "2048", "--torn-write-pause", "200"]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            let reader = LineReader(out.fileHandleForReading)
            func note(_ line: String) {
                if line.hasPrefix("durable "), let h = Int(line.dropFirst(8)) { durable = max(durable, h) }
            }
            // Wait (with a deadline) until this child has made progress, then let it
            // run a seeded random while longer and kill it wherever it is.
            guard let first = reader.nextLine(deadline: Date().addingTimeInterval(20)) else {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                Issue.record("seed \(seed) round \(round): child printed nothing within 20 s")
                return
            }
            note(first)
            let killAt = Date().addingTimeInterval(Double(Int.random(in: 0...40, using: &rng)) / 1000)
            while let line = reader.nextLine(deadline: killAt) { note(line) }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal, "seed \(seed) round \(round): child exited by itself")
            if process.terminationReason == .uncaughtSignal { killedWhileAppending += 1 }
            // Lines already in the pipe were printed after their fsync: they count.
            while let line = reader.nextLine(deadline: Date().addingTimeInterval(0.2)) { note(line) }

            let verify = try CLI.run(["ledger", "verify", "--ledger", data], in: dir)
            #expect(verify.status == 0, "seed \(seed) round \(round): verify failed: \(verify.stderr)")
            let fields = Dictionary(verify.stdout.split(separator: " ").compactMap { part -> (String, String)? in
                let kv = part.split(separator: "=", maxSplits: 1)
                return kv.count == 2 ? (String(kv[0]), String(kv[1]).trimmingCharacters(in: .whitespacesAndNewlines)) : nil
            }, uniquingKeysWith: { a, _ in a })
            guard let height = fields["height"].flatMap(Int.init) else {
                Issue.record("seed \(seed) round \(round): no height in \(verify.stdout)")
                return
            }
            #expect(height >= durable, "seed \(seed) round \(round): store has \(height) blocks, child reported \(durable) durable")
            truncatedTotal += fields["truncated"].flatMap(Int.init) ?? 0
            if verify.status != 0 || height < durable { return }
            durable = height
        }
        #expect(killedWhileAppending == 25, "seed \(seed)")
        #expect(durable > 25, "seed \(seed): only \(durable) blocks written in 25 rounds")
        // With most of each append spent between pieces, 25 kills that all miss
        // every record's middle would mean the kills are not landing mid-append.
        #expect(truncatedTotal > 0, "seed \(seed): no kill tore a record")
        print("kill test seed \(seed): \(durable) blocks after 25 SIGKILLs, \(truncatedTotal) torn bytes cut off")
    }
}
