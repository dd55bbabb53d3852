import Foundation
import Testing

@Suite("clearledger match and bench matching (real process)")
struct MatchCommandTests {
    @Test func replaysAFileIntoAnEventsFile() throws {
        let dir = try TemporaryDirectory()
        try """
            seq,type,order_id,account,symbol,side,price,qty,tif
            1,LIMIT,1,100,ACME,SELL,1010,50,GTC
            2,LIMIT,2,101,ACME,BUY,1010,20,GTC
            3,CANCEL,1,,,,,,

            """.write(toFile: dir.path("orders.csv"), atomically: true, encoding: .utf8)
        let result = try CLI.run(["match", "--input", dir.path("orders.csv"), "--output", dir.path("events.csv")])
        #expect(result.status == 0, "\(result.stderr)")
        let events = try String(contentsOfFile: dir.path("events.csv"), encoding: .utf8)
        #expect(events == """
            seq,event,order_id,counter_order_id,symbol,side,price,qty,reason
            1,ACCEPTED,1,,ACME,SELL,1010,50,
            2,ACCEPTED,2,,ACME,BUY,1010,20,
            2,TRADE,2,1,ACME,BUY,1010,20,
            3,CANCELED,1,,ACME,SELL,1010,30,

            """)
    }

    @Test func readsStandardInputAndWritesStandardOutput() throws {
        let input = "seq,type,order_id,account,symbol,side,price,qty,tif\n1,MARKET,1,1,X,BUY,,5,\n"
        let result = try CLI.run(["match", "--input", "-"], stdin: Data(input.utf8))
        #expect(result.status == 0)
        #expect(result.stdout.hasSuffix("1,ACCEPTED,1,,X,BUY,,5,\n1,EXPIRED,1,,X,BUY,,5,\n"))
    }

    @Test func missingInputFileIsOneLineNamingFieldAndValueExitOne() throws {
        let result = try CLI.run(["match", "--input", "/nonexistent/orders.csv"])
        #expect(result.status == 1)
        #expect(result.stderr == "error: input: cannot open \"/nonexistent/orders.csv\": No such file or directory\n")
    }

    @Test func usageErrorsExitTwo() throws {
        #expect(try CLI.run(["match"]).status == 2)
        let badMix = try CLI.run(["bench", "matching", "--mix", "shallow", "--orders", "10"])
        #expect(badMix.status == 2)
        #expect(badMix.stderr.contains("mix: unknown mix \"shallow\""))
    }

    @Test func generatedOrderFileReplaysWithoutMalformedRows() throws {
        let dir = try TemporaryDirectory()
        let orders = dir.path("orders.csv")
        let write = try CLI.run(["bench", "matching", "--orders", "50000", "--seed", "7", "--write-orders", orders])
        #expect(write.status == 0, "\(write.stderr)")
        let replay = try CLI.run(["match", "--input", orders, "--output", dir.path("events.csv"), "--summary"])
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stderr.contains("replayed 51,000 rows (0 malformed)"), "\(replay.stderr)")
        let events = try String(contentsOfFile: dir.path("events.csv"), encoding: .utf8)
        #expect(events.contains(",TRADE,"))
        #expect(events.contains(",REPLACED,"))
        #expect(!events.contains("MALFORMED"))
    }

    @Test func benchPrintsParametersAndEndsWithJSON() throws {
        let result = try CLI.run(["bench", "matching", "--orders", "20000", "--seed", "3", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("mix=exchange-core orders=20,000 seed=3"))
        let last = try #require(result.stdout.split(separator: "\n").last)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        for key in ["bench", "throughput_per_sec", "unit", "p50_us", "p99_us", "p999_us", "peak_rss_mb"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(object["bench"] as? String == "matching")
        #expect(object["unit"] as? String == "orders")
        #expect((object["throughput_per_sec"] as? Double ?? 0) > 0)
    }
}
