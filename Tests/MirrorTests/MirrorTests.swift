import Foundation
import Cryptography
import Ledger
@testable import Mirror
import Testing

@Suite struct MirrorTests {
    @Test func mirrorsASmallLedger() throws {
        let (database, db) = try TestDatabase.migrated("small")
        _ = database
        let ledger = try LedgerBuilder.standard()
        let mirror = LedgerMirror(ledgerDirectory: ledger.directory, genesis: ledger.genesis)
        let progress = try mirror.mirrorAvailable(into: db)
        #expect(progress.blocks == 3 && progress.height == 3 && progress.lag == 0)

        #expect(try db.rows("SELECT account_id, name FROM accounts ORDER BY 1")
            == [["1", "Issuer"], ["2", "Alice"], ["3", "O'Brien'); DROP TABLE holdings; --\t\\"]])
        #expect(try db.rows("SELECT security_id, symbol, authorized, issued FROM securities") == [["7", "ACME", "1000000", "10000"]])
        #expect(try db.rows("SELECT account_id, security_id, shares FROM holdings ORDER BY 1")
            == [["2", "7", "9850"], ["3", "7", "150"]])
        #expect(try db.rows("SELECT account_id, amount FROM cash_balances ORDER BY 1") == [["2", "38000"], ["3", "962000"]])
        #expect(try db.rows("SELECT height, tx_index, kind, status FROM transactions ORDER BY 1, 2") == [
            ["1", "0", "create-account", "applied"], ["1", "1", "create-account", "applied"],
            ["1", "2", "create-account", "applied"], ["1", "3", "create-security", "applied"],
            ["2", "0", "issue", "applied"], ["2", "1", "deposit", "applied"], ["3", "0", "settle", "settled"],
        ])
        #expect(try db.rows("SELECT trade_id, status, failure_reason IS NOT NULL, settled_at_us IS NOT NULL FROM trades ORDER BY trade_index") == [
            ["101", "settled", "f", "t"], ["102", "failed", "t", "f"], ["103", "settled", "f", "t"],
        ])
        #expect(try db.value("SELECT failure_reason FROM trades WHERE trade_id = 102")?.contains("insufficient shares") == true)
        #expect(try db.rows("SELECT account_id, security_id, sum(delta), count(*) FROM holding_movements GROUP BY 1, 2 ORDER BY 1") == [
            ["2", "7", "9850", "3"], ["3", "7", "150", "2"],
        ])
        #expect(try db.rows("SELECT account_id, sum(delta), count(*) FROM cash_movements GROUP BY 1 ORDER BY 1") == [
            ["2", "38000", "2"], ["3", "962000", "3"],
        ])
        #expect(try db.rows("SELECT kind, count(*) FROM holding_movements GROUP BY 1 ORDER BY 1") == [["issue", "1"], ["trade", "4"]])
        // The header columns are the ledger's: the hash recomputes from them.
        let node = try #require(ledger.node)
        let head = try node.read(height: 3)
        #expect(try db.value("SELECT encode(hash, 'hex') FROM blocks WHERE height = 3") == head.block.hash.hex)
        #expect(try db.rows("SELECT height, encode(block_hash, 'hex') FROM mirror_watermark") == [["3", head.block.hash.hex]])
    }

    @Test func resumesExactlyOnce() throws {
        let (database, db) = try TestDatabase.migrated("resume")
        _ = database
        let ledger = try LedgerBuilder.standard()
        let first = LedgerMirror(ledgerDirectory: ledger.directory, genesis: ledger.genesis, batchBlocks: 2)
        #expect(try first.mirrorAvailable(into: db).blocks == 3)
        let again = try first.mirrorAvailable(into: db)
        #expect(again.blocks == 0 && again.rows == 0 && again.height == 3)
        let counts = "SELECT (SELECT count(*) FROM blocks), (SELECT count(*) FROM transactions), (SELECT count(*) FROM trades), (SELECT count(*) FROM holding_movements), (SELECT count(*) FROM cash_movements)"
        #expect(try db.rows(counts) == [["3", "7", "3", "5", "5"]])

        // More blocks; a new mirror process (no state kept) replays to the watermark and goes on.
        try ledger.admin([.transfer(security: 7, from: 3, to: 2, shares: 150)])
        try ledger.admin([.withdraw(account: 2, amount: 38_000)])
        let restarted = LedgerMirror(ledgerDirectory: ledger.directory, genesis: ledger.genesis)
        let progress = try restarted.mirrorAvailable(into: db)
        #expect(progress.blocks == 2 && progress.height == 5)
        #expect(try db.rows(counts) == [["5", "9", "3", "7", "6"]])
        // Bob's holding went to zero and Alice's cash too: zero balances are not stored.
        #expect(try db.rows("SELECT account_id, shares FROM holdings") == [["2", "10000"]])
        #expect(try db.rows("SELECT account_id, amount FROM cash_balances") == [["3", "962000"]])
        #expect(try restarted.mirrorAvailable(into: db).blocks == 0)
        // The first mirror's kept state is behind the database now; it still only adds what is new.
        try ledger.admin([.deposit(account: 2, amount: 5)])
        #expect(try first.mirrorAvailable(into: db).blocks == 1)
        #expect(try db.rows(counts) == [["6", "10", "3", "7", "7"]])
    }

    /// A new mirror process starts from the ledger's newest snapshot at or below
    /// the watermark instead of replaying from genesis; a corrupt one is skipped.
    @Test func resumesFromASnapshot() throws {
        let (database, db) = try TestDatabase.migrated("snapshot")
        _ = database
        let ledger = try LedgerBuilder.standard(genesis: makeGenesis(checkpointInterval: 2))
        try LedgerMirror(ledgerDirectory: ledger.directory, genesis: ledger.genesis).mirrorAvailable(into: db)
        try ledger.admin([.deposit(account: 2, amount: 1)])
        let fresh = LedgerMirror(ledgerDirectory: ledger.directory, genesis: ledger.genesis)
        #expect(try fresh.mirrorAvailable(into: db).blocks == 1)
        #expect(fresh.restoredFromSnapshot == 2)
        // Snapshot 4 now exists too; the watermark is 4. Corrupt it: the mirror falls back to 2.
        let snapshot = ledger.directory + "/snapshots/snapshot-00000000000000000004.snap"
        #expect(FileManager.default.fileExists(atPath: snapshot))
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: snapshot))
        try ledger.admin([.deposit(account: 2, amount: 2)])
        let again = LedgerMirror(ledgerDirectory: ledger.directory, genesis: ledger.genesis)
        #expect(try again.mirrorAvailable(into: db).blocks == 1)
        #expect(again.restoredFromSnapshot == 2)
        let report = try Reconciler.reconcile(db, ledgerDirectory: ledger.directory, genesis: ledger.genesis)
        #expect(report.agrees, "\(report.differences)")
    }

    /// A batch ends at `batchRowLimit` rows (at least one block each): same rows.
    @Test func rowLimitSplitsBatches() throws {
        let (database, db) = try TestDatabase.migrated("rowlimit")
        _ = database
        let ledger = try LedgerBuilder.standard()
        let mirror = LedgerMirror(ledgerDirectory: ledger.directory, genesis: ledger.genesis, batchBlocks: 100)
        mirror.batchRowLimit = 1
        let progress = try mirror.mirrorAvailable(into: db, through: 2)
        #expect(progress.blocks == 2 && progress.height == 2 && progress.lag == 1)
        #expect(try mirror.mirrorAvailable(into: db).blocks == 1)
        #expect(try db.rows("SELECT (SELECT count(*) FROM blocks), (SELECT count(*) FROM holding_movements), (SELECT height FROM mirror_watermark)")
            == [["3", "5", "3"]])
    }

    @Test func refusesABlockThatDoesNotChain() throws {
        let (database, db) = try TestDatabase.migrated("fork")
        _ = database
        let ledger = try LedgerBuilder.standard()
        try LedgerMirror(ledgerDirectory: ledger.directory, genesis: ledger.genesis).mirrorAvailable(into: db)
        let snapshot = "SELECT (SELECT count(*) FROM blocks), (SELECT count(*) FROM trades), (SELECT height FROM mirror_watermark), (SELECT string_agg(account_id || ':' || shares, ',' ORDER BY account_id) FROM holdings)"
        let before = try db.rows(snapshot)

        // Same genesis and first two blocks, a different third block, and a fourth.
        let fork = try LedgerBuilder(genesis: ledger.genesis)
        try fork.admin([
            .createAccount(Account(id: 1, name: "Issuer", member: 1)),
            .createAccount(Account(id: 2, name: "Alice", member: 1, eligible: true)),
            .createAccount(Account(id: 3, name: "O'Brien'); DROP TABLE holdings; --\t\\", member: 1, eligible: true)),
            .createSecurity(Security(id: 7, symbol: "ACME", name: "Acme Inc", issuer: 1, authorized: 1_000_000)),
        ])
        try fork.admin([.issue(security: 7, to: 2, shares: 10_000), .deposit(account: 3, amount: 1_000_000)])
        #expect(try fork.node?.read(height: 2).block.hash == ledger.node?.read(height: 2).block.hash)
        try fork.admin([.issue(security: 7, to: 3, shares: 1)])
        try fork.admin([.issue(security: 7, to: 3, shares: 2)])
        #expect {
            try LedgerMirror(ledgerDirectory: fork.directory, genesis: fork.genesis).mirrorAvailable(into: db)
        } throws: { error in
            "\(error)".contains("mirror_watermark.block_hash=") && "\(error)".contains("nothing written")
        }
        #expect(try db.rows(snapshot) == before)

        // Another genesis altogether.
        let other = try LedgerBuilder(genesis: makeGenesis(chainID: "other"))
        try other.admin([.createAccount(Account(id: 9, name: "X", member: 1))])
        #expect {
            try LedgerMirror(ledgerDirectory: other.directory, genesis: other.genesis).mirrorAvailable(into: db)
        } throws: { error in
            "\(error)".contains("mirror_watermark.genesis_hash=")
        }
        #expect(try db.rows(snapshot) == before)
    }

    /// The watermark lock: a batch computed against an old watermark is refused
    /// when another writer moved it meanwhile, and nothing of it lands.
    @Test func aMovedWatermarkRefusesTheBatch() throws {
        let (database, db) = try TestDatabase.migrated("moved")
        _ = database
        let ledger = try LedgerBuilder.standard()
        let mirror = LedgerMirror(ledgerDirectory: ledger.directory, genesis: ledger.genesis, batchBlocks: 1)
        try mirror.mirrorAvailable(into: db)
        try db.query("UPDATE mirror_watermark SET height = 2")
        try ledger.admin([.deposit(account: 2, amount: 1)])
        #expect(throws: MirrorError.self) { try mirror.mirrorAvailable(into: db) }
        #expect(try db.value("SELECT max(height) FROM blocks") == "3")
    }
}
