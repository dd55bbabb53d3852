import Ledger
@testable import Mirror
import Testing

@Suite struct ReportTests {
    static let reports = TestDatabase.repositoryRoot + "/Database/reports"

    /// The standard ledger (blocks 1–3, day 2026-11-25) plus block 4 the next
    /// day: trade 104, Alice buys 10 ACME @ 300 from O'Brien (account 3).
    private func fixture(_ label: String) throws -> (TestDatabase, PostgresConnection, LedgerBuilder) {
        let (database, db) = try TestDatabase.migrated(label)
        let ledger = try LedgerBuilder.standard()
        ledger.skip(hours: 23)
        try ledger.settle([Trade(tradeID: 104, buyer: 2, seller: 3, security: 7, shares: 10, price: 300, buyOrderID: 21, sellOrderID: 22, matchTime: 8)])
        try LedgerMirror(ledgerDirectory: ledger.directory, genesis: ledger.genesis).mirrorAvailable(into: db)
        return (database, db, ledger)
    }

    private func run(_ name: String, _ db: PostgresConnection, _ values: [String: String] = [:]) throws -> [[String]] {
        try Report.load(name: name, directory: Self.reports).run(db, values: values).rows.map { $0.map { $0 ?? "NULL" } }
    }

    @Test func capTableAtAnyHeight() throws {
        let (database, db, _) = try fixture("cap_table")
        _ = database
        #expect(try run("cap-table", db, ["security": "ACME"]) == [
            ["ACME", "2", "Alice", "9860", "98.6000"], ["ACME", "3", "O'Brien'); DROP TABLE holdings; --\t\\", "140", "1.4000"],
        ])
        #expect(try run("cap-table", db, ["security": "7", "height": "3"]) == [
            ["ACME", "2", "Alice", "9850", "98.5000"], ["ACME", "3", "O'Brien'); DROP TABLE holdings; --\t\\", "150", "1.5000"],
        ])
        #expect(try run("cap-table", db, ["security": "ACME", "height": "2"]) == [["ACME", "2", "Alice", "10000", "100.0000"]])
        #expect(try run("cap-table", db, ["security": "ACME", "height": "1"]) == [])
    }

    @Test func holdingsTradesAndFailures() throws {
        let (database, db, _) = try fixture("trades")
        _ = database
        #expect(try run("holdings", db, ["account": "3"]) == [["3", "O'Brien'); DROP TABLE holdings; --\t\\", "ACME", "140"]])
        #expect(try run("holdings", db, ["height": "2"]) == [["2", "Alice", "ACME", "10000"]])
        // Day 1: 100 @ 250 and 50 @ 260 → VWAP 38,000 / 150 = 253.3333; day 2: 10 @ 300.
        #expect(try run("trades", db) == [
            ["2026-11-25", "ACME", "2", "150", "253.3333", "250", "260", "38000"],
            ["2026-11-26", "ACME", "1", "10", "300.0000", "300", "300", "3000"],
        ])
        #expect(try run("trades", db, ["height": "3", "security": "ACME"]).count == 1)
        let failures = try run("settlement-failures", db)
        #expect(failures.count == 1)
        #expect(failures.first.map { Array($0[0..<9]) } == ["3", "0", "1", "102", "7", "3", "2", "100000", "1"])
        #expect(failures.first?.last?.contains("insufficient shares") == true)
    }

    @Test func custodyStatement() throws {
        let (database, db, _) = try fixture("statement")
        _ = database
        // Alice: 10,000 issued at block 2, 150 sold at block 3, 10 bought at block 4.
        #expect(try run("statement", db, ["account": "2", "from": "2"]) == [
            ["2", "Alice", "2026-11-26T13:00:00Z", "4", "2", "settled", "ACME", "Acme Inc", "10000", "10", "150", "9860"],
        ])
        #expect(try run("statement", db, ["account": "2", "height": "2"]).map { Array($0[2...]) } == [
            ["2026-11-25T12:00:00Z", "2", "0", "settled", "ACME", "Acme Inc", "0", "10000", "0", "10000"],
        ])
        #expect(try run("statement", db) == [])
    }

    @Test func checksAreEmptyUntilTampered() throws {
        let (database, db, _) = try fixture("checks")
        _ = database
        #expect(try run("supply-check", db) == [])
        #expect(try run("chain-check", db) == [])
        let movements = try run("movement-check", db, ["from": "2", "to": "4"])
        #expect(movements == [
            ["balance", "2", "7", "NULL", "10000", "-140", "9860", "ok"],
            ["balance", "3", "7", "NULL", "0", "140", "140", "ok"],
        ])
        try db.query("UPDATE holdings SET shares = shares + 1 WHERE account_id = 3")
        try db.query("UPDATE blocks SET view = 9 WHERE height = 2")
        #expect(try run("supply-check", db) == [["7", "ACME", "10000", "10001"]])
        #expect(try run("chain-check", db).map { Array($0[0..<2]) } == [["2", "hash does not match the header"]])
        #expect(try run("movement-check", db).contains { $0[1] == "3" && $0[7] == "closing <> holdings (141)" })
        // A trade whose cash leg lost a row no longer nets to zero.
        try db.query("DELETE FROM cash_movements WHERE trade_id = 104 AND delta > 0")
        #expect(try run("movement-check", db, ["from": "3"]).contains { $0[0] == "netting" && $0[3] == "104" && $0[2] == "0" })
    }

    /// User values are bind parameters: quotes and statements in them are data.
    @Test func injectionAttemptsChangeNothing() throws {
        let (database, db, _) = try fixture("injection")
        _ = database
        let before = try db.rows("SELECT count(*), sum(shares) FROM holdings")
        for hostile in ["ACME' OR '1'='1", "ACME'; DROP TABLE holdings; --", "7); DELETE FROM holdings; --", "\\'", ":'security'"] {
            #expect(try run("cap-table", db, ["security": hostile]) == [])
            #expect(try run("trades", db, ["security": hostile]) == [])
        }
        // A non-numeric height or account is refused by the server's cast, not executed.
        #expect(throws: PostgresError.self) { try run("holdings", db, ["account": "2 OR 1=1"]) }
        #expect(throws: PostgresError.self) { try run("cap-table", db, ["security": "ACME", "height": "1; DROP TABLE blocks"]) }
        #expect(try db.rows("SELECT count(*), sum(shares) FROM holdings") == before)
        #expect(try db.value("SELECT count(*) FROM blocks") == "4")
    }

    @Test func parsingAndFormats() throws {
        let report = try Report.parse(name: "t", text: """
            -- a comment with :'ignored' and it's fine
            SELECT ':''x''' AS literal, $$ $$ AS d, 1::bigint, :'a' AS a, "col:'q'" , :'b', :'a' /* :'c' */;
            """)
        #expect(report.variables == ["a", "b"])
        #expect(report.sql.contains("$1 AS a") && report.sql.contains(", $2, $1") && report.sql.contains("':''x'''"))
        #expect(throws: MirrorError.self) { try Report.parse(name: "t", text: "SELECT :height") }
        #expect(throws: MirrorError.self) { try Report.load(name: "../etc/passwd", directory: Self.reports) }
        let result = QueryResult(columns: ["a", "b"], rows: [["x,y", nil], ["q\"r", "2"]])
        #expect(ReportFormat.csv.render(result) == "a,b\n\"x,y\",\n\"q\"\"r\",2")
        #expect(ReportFormat.json.render(result) == "[{\"a\":\"x,y\",\"b\":null},\n {\"a\":\"q\\\"r\",\"b\":\"2\"}]")
        #expect(ReportFormat.table.render(result) == "a    b\n---  -\nx,y\nq\"r  2\n(2 rows)")
    }
}
