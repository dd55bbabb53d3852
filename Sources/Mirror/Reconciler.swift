import Cryptography
import Ledger

/// One line of an external holdings statement: `account,security,shares`
/// (security as a symbol or a numeric id).
package struct StatementLine: Equatable, Sendable {
    package var line: Int
    package var account: AccountID
    package var security: String
    package var shares: Int64

    /// Parses the CSV: a header line `account,security,shares`, then one holding
    /// per line; blank lines are skipped. Errors name the line and the field.
    package static func parse(_ text: String, source: String) throws(MirrorError) -> [StatementLine] {
        var result: [StatementLine] = []
        var sawHeader = false
        for (i, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.allSatisfy({ $0 == " " }) { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingSpaces }
            if !sawHeader {
                guard fields == ["account", "security", "shares"] else {
                    throw MirrorError("\(source):\(i + 1): header must be account,security,shares, found \(line.prefix(80))")
                }
                sawHeader = true
                continue
            }
            guard fields.count == 3 else { throw MirrorError("\(source):\(i + 1): expected 3 fields, found \(fields.count)") }
            guard let account = AccountID(fields[0]), account > 0 else {
                throw MirrorError("\(source):\(i + 1): account=\(fields[0].prefix(40)): not an account id")
            }
            guard !fields[1].isEmpty, fields[1].utf8.count <= 64 else {
                throw MirrorError("\(source):\(i + 1): security=\(fields[1].prefix(40)): empty or too long")
            }
            guard let shares = Int64(fields[2]), shares >= 0 else {
                throw MirrorError("\(source):\(i + 1): shares=\(fields[2].prefix(40)): not a whole number ≥ 0")
            }
            result.append(StatementLine(line: i + 1, account: account, security: fields[1], shares: shares))
        }
        guard sawHeader else { throw MirrorError("\(source): empty statement (no header line)") }
        return result
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

package struct ReconcileReport: Sendable {
    package var height: UInt64 = 0
    package var blocks = 0
    package var holdings = 0
    package var balances = 0
    package var securities = 0
    package var statementLines = 0
    /// Blocks whose commit certificate was checked against the genesis members.
    package var certified = 0
    /// Every disagreement, one line each, naming the row.
    package var differences: [String] = []

    package var agrees: Bool { differences.isEmpty }

    package var summary: String {
        (agrees ? "reconcile: OK" : "reconcile: \(differences.count) difference(s)")
            + " at height \(height): \(blocks) blocks (\(certified) with a commit certificate), \(holdings) holdings, \(balances) cash balances, \(securities) securities"
            + (statementLines > 0 ? ", \(statementLines) statement lines" : "") + " checked"
    }
}

/// Proves that the database, the ledger and (optionally) an external statement
/// agree at the watermark height — or lists exactly where they do not.
package enum Reconciler {
    package static func reconcile(_ db: PostgresConnection, ledgerDirectory: String, genesis: Genesis,
                                  statement: [StatementLine]? = nil) throws -> ReconcileReport {
        var report = ReconcileReport()
        let mark = try Watermark.read(db, genesis: genesis)
        report.height = mark.height
        let mirror = LedgerMirror(ledgerDirectory: ledgerDirectory, genesis: genesis)
        let chain = try mirror.chain(at: mark.height)
        if chain.headHash != mark.hash {
            report.differences.append("watermark: database says block \(mark.height) has hash \(mark.hash.hex), the ledger's is \(chain.headHash.hex)")
        }
        let state = chain.state
        compareBalances(db, state: state, report: &report)
        try compareRegistry(db, state: state, report: &report)
        try checkFromSQL(db, genesis: genesis, report: &report)
        if let statement { try compareStatement(db, statement, report: &report) }
        return report
    }

    private static func compareBalances(_ db: PostgresConnection, state: LedgerState, report: inout ReconcileReport) {
        var ledgerHoldings: [String: Int64] = [:]
        var ledgerCash: [String: Int64] = [:]
        for b in state.balances() {
            if b.asset == 0 { ledgerCash["\(b.account)"] = b.value } else { ledgerHoldings["\(b.account) \(b.asset)"] = b.value }
        }
        func symbol(_ id: String) -> String {
            SecurityID(id).flatMap { state.securities[$0]?.symbol }.map { " (\($0))" } ?? ""
        }
        do {
            let rows = try db.query("SELECT account_id, security_id, shares FROM holdings").rows
            report.holdings = rows.count
            var seen = Set<String>()
            for row in rows {
                let account = row[0] ?? "?", security = row[1] ?? "?"
                let key = "\(account) \(security)"
                seen.insert(key)
                let ledger = ledgerHoldings[key] ?? 0
                if Int64(row[2] ?? "") != ledger {
                    report.differences.append("holding account=\(account) security=\(security)\(symbol(security)): database \(row[2] ?? "NULL"), ledger \(ledger)")
                }
            }
            for (key, value) in ledgerHoldings.sorted(by: { $0.key < $1.key }) where !seen.contains(key) {
                let parts = key.split(separator: " ")
                report.differences.append("holding account=\(parts[0]) security=\(parts[1])\(symbol(String(parts[1]))): database none, ledger \(value)")
            }
            let cash = try db.query("SELECT account_id, amount FROM cash_balances").rows
            report.balances = cash.count
            var seenCash = Set<String>()
            for row in cash {
                let account = row[0] ?? "?"
                seenCash.insert(account)
                let ledger = ledgerCash[account] ?? 0
                if Int64(row[1] ?? "") != ledger {
                    report.differences.append("cash account=\(account): database \(row[1] ?? "NULL"), ledger \(ledger)")
                }
            }
            for (account, value) in ledgerCash.sorted(by: { $0.key < $1.key }) where !seenCash.contains(account) {
                report.differences.append("cash account=\(account): database none, ledger \(value)")
            }
        } catch {
            report.differences.append("balances: \(error)")
        }
    }

    private static func compareRegistry(_ db: PostgresConnection, state: LedgerState, report: inout ReconcileReport) throws {
        let rows = try db.query("SELECT security_id, symbol, issued, authorized FROM securities").rows
        report.securities = rows.count
        var seen = Set<SecurityID>()
        for row in rows {
            guard let id = row[0].flatMap({ SecurityID($0) }), let security = state.securities[id] else {
                report.differences.append("security \(row[0] ?? "NULL") (\(row[1] ?? "?")): in the database, not in the ledger")
                continue
            }
            seen.insert(id)
            if row[1] != security.symbol { report.differences.append("security \(id) symbol: database \(row[1] ?? "NULL"), ledger \(security.symbol)") }
            if Int64(row[2] ?? "") != security.issued {
                report.differences.append("security \(id) (\(security.symbol)) issued: database \(row[2] ?? "NULL"), ledger \(security.issued)")
            }
            if Int64(row[3] ?? "") != security.authorized {
                report.differences.append("security \(id) (\(security.symbol)) authorized: database \(row[3] ?? "NULL"), ledger \(security.authorized)")
            }
        }
        for id in state.securities.keys.sorted() where !seen.contains(id) {
            report.differences.append("security \(id) (\(state.securities[id]?.symbol ?? "?")): in the ledger, not in the database")
        }
        let accounts = try db.query("SELECT account_id, name, frozen FROM accounts").rows
        var seenAccounts = Set<AccountID>()
        for row in accounts {
            guard let id = row[0].flatMap({ AccountID($0) }), let account = state.accounts[id] else {
                report.differences.append("account \(row[0] ?? "NULL"): in the database, not in the ledger")
                continue
            }
            seenAccounts.insert(id)
            if row[1] != account.name { report.differences.append("account \(id) name: database \(row[1] ?? "NULL"), ledger \(account.name)") }
            if row[2] != (account.frozen ? "t" : "f") { report.differences.append("account \(id) frozen: database \(row[2] ?? "NULL"), ledger \(account.frozen)") }
        }
        for id in state.accounts.keys.sorted() where !seenAccounts.contains(id) {
            report.differences.append("account \(id): in the ledger, not in the database")
        }
    }

    /// What anyone with only the database (and the genesis hash) can check.
    static func checkFromSQL(_ db: PostgresConnection, genesis: Genesis, report: inout ReconcileReport) throws {
        report.blocks = Int(try db.query("SELECT count(*) FROM blocks").scalar ?? "0") ?? 0
        for row in try db.query(ReconcileSQL.headerHashes).rows {
            report.differences.append("block \(row[0] ?? "?") hash: stored \(row[1] ?? "NULL"), its header columns hash to \(row[2] ?? "NULL")")
        }
        for row in try db.query(ReconcileSQL.links, [byteaLiteral(genesis.hash.bytes)]).rows {
            report.differences.append("block \(row[0] ?? "?") previous_hash \(row[1] ?? "NULL") does not match \(row[2] ?? "NULL") (the hash of block \(row[3] ?? "?"))")
        }
        for row in try db.query(ReconcileSQL.gaps).rows {
            report.differences.append("blocks: \(row[0] ?? "?") rows for heights 1…\(row[1] ?? "?") up to the watermark \(row[2] ?? "?"), or the watermark hash is not block \(row[2] ?? "?")'s")
        }
        try checkCertificates(db, genesis: genesis, report: &report)
        for row in try db.query(ReconcileSQL.holdingMovements).rows {
            report.differences.append("holding_movements account=\(row[0] ?? "?") security=\(row[1] ?? "?") sum to \(row[2] ?? "0"), holdings says \(row[3] ?? "0")")
        }
        for row in try db.query(ReconcileSQL.cashMovements).rows {
            report.differences.append("cash_movements account=\(row[0] ?? "?") sum to \(row[1] ?? "0"), cash_balances says \(row[2] ?? "0")")
        }
        for row in try db.query(ReconcileSQL.supply).rows {
            report.differences.append("security \(row[0] ?? "?") (\(row[1] ?? "?")): issued \(row[2] ?? "?"), holdings sum to \(row[3] ?? "0")")
        }
    }

    /// Finality from the rows alone: the header is rebuilt from its columns, and
    /// the stored certificate must carry 2f+1 valid signatures of genesis members
    /// over (view, sequence, that header's hash) — `Genesis.isFinal`.
    static func checkCertificates(_ db: PostgresConnection, genesis: Genesis, report: inout ReconcileReport) throws {
        let rows = try db.query("""
            SELECT height, previous_hash, view, sequence, time_us, transactions_root, state_root, certificate
            FROM blocks WHERE certificate IS NOT NULL ORDER BY height
            """).rows
        for row in rows {
            let height = row[0] ?? "?"
            do {
                guard let h = row[0].flatMap({ UInt64($0) }), let view = row[2].flatMap({ UInt64($0) }),
                      let sequence = row[3].flatMap({ UInt64($0) }), let time = row[4].flatMap({ Int64($0) }) else {
                    throw MirrorError("a header column is not an integer")
                }
                let header = BlockHeader(height: h, previousHash: try Watermark.digest(row[1], field: "previous_hash"), view: view,
                                         sequence: sequence, timestamp: time,
                                         transactionsRoot: try Watermark.digest(row[5], field: "transactions_root"),
                                         stateRoot: try Watermark.digest(row[6], field: "state_root"))
                guard let text = row[7], text.hasPrefix("\\x"), let bytes = try? Hex.decode(String(text.dropFirst(2))) else {
                    throw MirrorError("certificate is not bytea")
                }
                var reader = ByteReader(bytes)
                let certificate = try CommitCertificate.decode(from: &reader)
                try reader.expectEnd("certificate")
                report.certified += 1
                if !genesis.isFinal(Block(header: header, transactions: []), certificate: certificate) {
                    report.differences.append("block \(height) certificate: not \(2 * genesis.f + 1) valid signatures of genesis members over its view, sequence and header hash")
                }
            } catch {
                report.differences.append("block \(height) certificate: \(error)")
            }
        }
    }

    private static func compareStatement(_ db: PostgresConnection, _ statement: [StatementLine], report: inout ReconcileReport) throws {
        report.statementLines = statement.count
        var listed = Set<String>()
        for line in statement {
            let rows = try db.query("""
                SELECT s.security_id, coalesce(h.shares, 0) FROM securities s
                LEFT JOIN holdings h ON h.security_id = s.security_id AND h.account_id = $1::bigint
                WHERE s.symbol = $2 OR s.security_id::text = $2
                """, [String(line.account), line.security]).rows
            guard let row = rows.first, let id = row[0] else {
                report.differences.append("statement line \(line.line): security=\(line.security): unknown security")
                continue
            }
            listed.insert("\(line.account) \(id)")
            if Int64(row[1] ?? "") != line.shares {
                report.differences.append("statement line \(line.line): account=\(line.account) security=\(line.security): statement \(line.shares), database \(row[1] ?? "0")")
            }
        }
        // A holding of a listed account that the statement leaves out is a difference too.
        let accounts = Set(statement.map(\.account)).sorted().map(String.init).joined(separator: ",")
        for row in try db.query("""
            SELECT h.account_id, h.security_id, s.symbol, h.shares FROM holdings h JOIN securities s USING (security_id)
            WHERE h.account_id = ANY (string_to_array($1, ',')::bigint[]) ORDER BY 1, 2
            """, [accounts]).rows where !listed.contains("\(row[0] ?? "") \(row[1] ?? "")") {
            report.differences.append("statement: account=\(row[0] ?? "?") security=\(row[2] ?? "?"): database \(row[3] ?? "?"), not in the statement")
        }
    }
}

/// The SQL-only checks, also in Database/reports (chain-check, supply-check).
enum ReconcileSQL {
    /// The header encoding of BlockHeader.encode: version u8, height u64, previous
    /// hash, view u64, sequence u64, timestamp i64, transactions root, state root —
    /// big-endian, which is what int8send produces.
    static let headerHash = """
        sha256(set_byte('\\x00'::bytea, 0, header_version) || int8send(height) || previous_hash || int8send(view)
               || int8send(sequence) || int8send(time_us) || transactions_root || state_root)
        """
    static let headerHashes = """
        SELECT height, encode(hash, 'hex'), encode(\(headerHash), 'hex') FROM blocks
        WHERE hash <> \(headerHash) ORDER BY height
        """
    /// $1: the genesis hash, which block 1 must point to.
    static let links = """
        SELECT b.height, encode(b.previous_hash, 'hex'), encode(coalesce(p.hash, CASE WHEN b.height = 1 THEN $1::bytea END), 'hex'), b.height - 1
        FROM blocks b LEFT JOIN blocks p ON p.height = b.height - 1
        WHERE b.previous_hash IS DISTINCT FROM coalesce(p.hash, CASE WHEN b.height = 1 THEN $1::bytea END)
        ORDER BY b.height
        """
    static let gaps = """
        SELECT (SELECT count(*) FROM blocks), (SELECT coalesce(max(height), 0) FROM blocks), w.height
        FROM mirror_watermark w
        WHERE (SELECT count(*) FROM blocks) <> w.height OR (SELECT coalesce(max(height), 0) FROM blocks) <> w.height
           OR (w.height > 0 AND w.block_hash IS DISTINCT FROM (SELECT hash FROM blocks WHERE height = w.height))
        """
    static let holdingMovements = """
        SELECT coalesce(m.account_id, h.account_id), coalesce(m.security_id, h.security_id), coalesce(m.total, 0), coalesce(h.shares, 0)
        FROM (SELECT account_id, security_id, sum(delta) AS total FROM holding_movements GROUP BY 1, 2) m
        FULL JOIN holdings h ON h.account_id = m.account_id AND h.security_id = m.security_id
        WHERE coalesce(m.total, 0) <> coalesce(h.shares, 0) ORDER BY 1, 2
        """
    static let cashMovements = """
        SELECT coalesce(m.account_id, c.account_id), coalesce(m.total, 0), coalesce(c.amount, 0)
        FROM (SELECT account_id, sum(delta) AS total FROM cash_movements GROUP BY 1) m
        FULL JOIN cash_balances c ON c.account_id = m.account_id
        WHERE coalesce(m.total, 0) <> coalesce(c.amount, 0) ORDER BY 1
        """
    static let supply = """
        SELECT s.security_id, s.symbol, s.issued, coalesce(sum(h.shares), 0)
        FROM securities s LEFT JOIN holdings h ON h.security_id = s.security_id
        GROUP BY s.security_id, s.symbol, s.issued HAVING s.issued <> coalesce(sum(h.shares), 0) ORDER BY 1
        """
}
