import Ledger
@testable import Mirror
import Testing

@Suite struct ReconcileTests {
    /// A mirrored standard ledger, reconciled clean.
    private func mirrored(_ label: String) throws -> (TestDatabase, PostgresConnection, LedgerBuilder) {
        let (database, db) = try TestDatabase.migrated(label)
        let ledger = try LedgerBuilder.standard()
        try LedgerMirror(ledgerDirectory: ledger.directory, genesis: ledger.genesis).mirrorAvailable(into: db)
        let report = try Reconciler.reconcile(db, ledgerDirectory: ledger.directory, genesis: ledger.genesis)
        #expect(report.agrees, "\(report.differences)")
        #expect(report.height == 3 && report.blocks == 3 && report.holdings == 2 && report.balances == 2 && report.securities == 1)
        return (database, db, ledger)
    }

    private func differences(_ db: PostgresConnection, _ ledger: LedgerBuilder, statement: [StatementLine]? = nil) throws -> [String] {
        try Reconciler.reconcile(db, ledgerDirectory: ledger.directory, genesis: ledger.genesis, statement: statement).differences
    }

    @Test func namesAChangedHolding() throws {
        let (database, db, ledger) = try mirrored("tamper_holding")
        _ = database
        try db.query("UPDATE holdings SET shares = 9000 WHERE account_id = 2 AND security_id = 7")
        let found = try differences(db, ledger)
        #expect(found.contains("holding account=2 security=7 (ACME): database 9000, ledger 9850"), "\(found)")
        #expect(found.contains("holding_movements account=2 security=7 sum to 9850, holdings says 9000"), "\(found)")
        #expect(found.contains("security 7 (ACME): issued 10000, holdings sum to 9150"), "\(found)")
    }

    @Test func namesAChangedBlockHash() throws {
        let (database, db, ledger) = try mirrored("tamper_hash")
        _ = database
        try db.query("UPDATE blocks SET hash = sha256('forged'::bytea) WHERE height = 2")
        let found = try differences(db, ledger)
        #expect(found.contains { $0.hasPrefix("block 2 hash: stored ") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("block 3 previous_hash ") && $0.hasSuffix("(the hash of block 2)") }, "\(found)")
        // The header hash check alone, from SQL: a changed header column is caught too.
        try db.query("UPDATE blocks SET hash = sha256(hash) WHERE false")
        try db.query("UPDATE blocks SET time_us = time_us + 1 WHERE height = 1")
        #expect(try differences(db, ledger).contains { $0.hasPrefix("block 1 hash: stored ") })
    }

    @Test func namesADeletedMovement() throws {
        let (database, db, ledger) = try mirrored("tamper_movement")
        _ = database
        try db.query("""
            DELETE FROM holding_movements WHERE (height, tx_index, movement_index) =
                (SELECT height, tx_index, movement_index FROM holding_movements WHERE account_id = 3 AND delta = 50)
            """)
        let found = try differences(db, ledger)
        #expect(found == ["holding_movements account=3 security=7 sum to 100, holdings says 150"], "\(found)")
    }

    /// Finality from the rows alone: certificates checked against the genesis keys.
    @Test func checksCommitCertificates() throws {
        let (database, db) = try TestDatabase.migrated("certificates")
        _ = database
        let ledger = try LedgerBuilder.standard(certify: true)
        try LedgerMirror(ledgerDirectory: ledger.directory, genesis: ledger.genesis).mirrorAvailable(into: db)
        let clean = try Reconciler.reconcile(db, ledgerDirectory: ledger.directory, genesis: ledger.genesis)
        #expect(clean.agrees && clean.certified == 3, "\(clean.differences)")
        // One flipped bit in block 2's signature (the last 64 bytes of the certificate).
        try db.query("UPDATE blocks SET certificate = set_byte(certificate, octet_length(certificate) - 1, get_byte(certificate, octet_length(certificate) - 1) # 1) WHERE height = 2")
        try db.query("UPDATE blocks SET certificate = substring(certificate FROM 1 FOR 10) WHERE height = 3")
        let found = try differences(db, ledger)
        #expect(found.contains("block 2 certificate: not 1 valid signatures of genesis members over its view, sequence and header hash"), "\(found)")
        #expect(found.contains { $0.hasPrefix("block 3 certificate: certificate.") }, "\(found)")
        #expect(found.count == 2, "\(found)")
    }

    @Test func comparesAnExternalStatement() throws {
        let (database, db, ledger) = try mirrored("statement")
        _ = database
        let good = try StatementLine.parse("account,security,shares\n2,ACME,9850\n3,7,150\n", source: "s.csv")
        #expect(try differences(db, ledger, statement: good) == [])
        let bad = try StatementLine.parse("account,security,shares\r\n2,ACME,9800\r\n\r\n3,ZZZ,1\r\n", source: "s.csv")
        #expect(try differences(db, ledger, statement: bad) == [
            "statement line 2: account=2 security=ACME: statement 9800, database 9850",
            "statement line 4: security=ZZZ: unknown security",
            "statement: account=3 security=ACME: database 150, not in the statement",
        ])
        // Hostile values are data: a quote in the security matches nothing and changes nothing.
        let hostile = try StatementLine.parse("account,security,shares\n2,ACME' OR '1'='1,0\n", source: "s.csv")
        #expect(try differences(db, ledger, statement: hostile).first == "statement line 2: security=ACME' OR '1'='1: unknown security")
        #expect(try db.value("SELECT count(*) FROM holdings") == "2")
        #expect(throws: MirrorError.self) { try StatementLine.parse("acct,sec\n", source: "s.csv") }
        #expect(throws: MirrorError.self) { try StatementLine.parse("account,security,shares\n2,ACME,-1\n", source: "s.csv") }
        #expect(throws: MirrorError.self) { try StatementLine.parse("account,security,shares\nx,ACME,1\n", source: "s.csv") }
    }
}
