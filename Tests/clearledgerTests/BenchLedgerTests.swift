import Foundation
import Testing

@Suite struct BenchLedgerTests {
    /// A tiny run of every stage: the last stdout line is the JSON the design asks for.
    @Test func benchLedgerRunsEveryStageAndEndsWithJSON() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try CLI.run(["bench", "ledger", "--batches", "3", "--trades-per-batch", "200", "--accounts", "20", "--securities", "3",
                                   "--snapshot-holdings", "2000", "--directory", dir, "--json"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let last = try #require(r.stdout.split(separator: "\n").last)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        for key in ["bench", "throughput_per_sec", "unit", "p50_us", "p99_us", "p999_us", "peak_rss_mb",
                    "block_trades_per_sec", "store_blocks_per_sec", "restart_read_restore_ms", "seed"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(object["bench"] as? String == "ledger" && object["unit"] as? String == "trades")
        #expect(object["settled"] as? Int == 600)
        #expect(r.stdout.contains("seed=1"))
        // The work directory is cleaned up.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }
}
