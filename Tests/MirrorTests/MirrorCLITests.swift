import Foundation
import Ledger
@testable import Mirror
import Testing

/// The real `clearledger` binary, built beside this test bundle.
enum CLI {
    static let binary: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("clearledger").path
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    @discardableResult
    static func run(_ arguments: [String], in directory: String) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// A ledger made with `ledger init` and `admin` commands: ACME, 5,000 to
    /// Alice, 1,200 of them transferred to O'Brien.
    static func ledger() throws -> String {
        let dir = NSTemporaryDirectory() + "clearledger-mirror-cli-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in ["admin", "exchange", "m1"] { try expectOK(["keygen", "--out", name], in: dir) }
        try expectOK(["genesis", "--out", "genesis.json", "--chain-id", "cli-mirror", "--member", "1,alpha,127.0.0.1:7001,m1/public.pem",
                      "--admin-key", "admin/public.pem", "--exchange-key", "exchange/public.pem",
                      "--account", "1,Issuer,1", "--account", "2,Alice,1", "--account", "3,O'Brien,1"], in: dir)
        try expectOK(["ledger", "init", "--genesis", "genesis.json", "--ledger", "L"], in: dir)
        try admin(["create-security", "--id", "1", "--symbol", "ACME", "--name", "Acme", "--issuer", "1", "--authorized", "1000000"], in: dir)
        try admin(["issue", "--security", "ACME", "--to", "2", "--shares", "5000"], in: dir)
        try admin(["transfer", "--security", "ACME", "--from", "2", "--to", "3", "--shares", "1200"], in: dir)
        return dir
    }

    static func admin(_ arguments: [String], in dir: String) throws {
        try expectOK(["admin"] + arguments + ["--key", "admin/private.pem", "--ledger", "L"], in: dir)
    }

    static func expectOK(_ arguments: [String], in dir: String) throws {
        let r = try run(arguments, in: dir)
        #expect(r.status == 0, "\(arguments): \(r.stderr)")
    }
}

@Suite struct MirrorCLITests {
    @Test func migrateMirrorReconcileReport() throws {
        let database = try TestDatabase("cli")
        let dir = try CLI.ledger()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let db = database.conninfo
        let migrations = TestDatabase.repositoryRoot + "/Database/migrations"
        let reports = TestDatabase.repositoryRoot + "/Database/reports"

        let m1 = try CLI.run(["mirror", "migrate", "--db", db, "--migrations", migrations], in: dir)
        #expect(m1.status == 0 && m1.stdout.contains("applied 0001_"), "\(m1.stderr)")
        let m2 = try CLI.run(["mirror", "migrate", "--db", db, "--migrations", migrations], in: dir)
        #expect(m2.status == 0 && m2.stdout.contains("0 applied now"), "\(m2.stdout)")

        let r1 = try CLI.run(["mirror", "run", "--data", "L", "--db", db, "--once"], in: dir)
        #expect(r1.status == 0 && r1.stdout.contains("mirrored 3 blocks") && r1.stdout.contains("lag 0"), "\(r1.stdout) \(r1.stderr)")
        let r2 = try CLI.run(["mirror", "run", "--data", "L", "--db", db, "--once"], in: dir)
        #expect(r2.status == 0 && r2.stdout.contains("mirrored 0 blocks"), "\(r2.stdout)")
        try CLI.admin(["deposit", "--account", "3", "--amount", "700"], in: dir)
        let r3 = try CLI.run(["mirror", "run", "--data", "L", "--db", db, "--once"], in: dir)
        #expect(r3.stdout.contains("mirrored 1 blocks") && r3.stdout.contains("to height 4"), "\(r3.stdout)")

        let ok = try CLI.run(["reconcile", "--db", db, "--data", "L"], in: dir)
        #expect(ok.status == 0 && ok.stdout.contains("reconcile: OK at height 4"), "\(ok.stdout) \(ok.stderr)")
        try "account,security,shares\n2,ACME,3800\n3,ACME,1200\n".write(toFile: dir + "/statement.csv", atomically: true, encoding: .utf8)
        let st = try CLI.run(["reconcile", "--db", db, "--data", "L", "--statement", "statement.csv"], in: dir)
        #expect(st.status == 0, "\(st.stdout) \(st.stderr)")

        let cap = try CLI.run(["report", "cap-table", "--db", db, "--security", "ACME", "--format", "csv", "--reports", reports], in: dir)
        #expect(cap.stdout == "security,account,name,shares,percent\nACME,2,Alice,3800,76.0000\nACME,3,O'Brien,1200,24.0000\n", "\(cap.stdout) \(cap.stderr)")
        let early = try CLI.run(["report", "cap-table", "--db", db, "--security", "ACME", "--at", "2", "--format", "json", "--reports", reports], in: dir)
        #expect(early.stdout == "[{\"security\":\"ACME\",\"account\":\"2\",\"name\":\"Alice\",\"shares\":\"5000\",\"percent\":\"100.0000\"}]\n")
        let hostile = try CLI.run(["report", "cap-table", "--db", db, "--security", "ACME'; DROP TABLE holdings; --", "--reports", reports], in: dir)
        #expect(hostile.status == 0 && hostile.stdout.hasSuffix("(0 rows)\n"), "\(hostile.stdout)")
        let unknown = try CLI.run(["report", "nope", "--db", db, "--reports", reports], in: dir)
        #expect(unknown.status == 1 && unknown.stderr.hasPrefix("error: report=nope: no file"))
        let usage = try CLI.run(["report", "cap-table", "--db", db, "--format", "xml"], in: dir)
        #expect(usage.status == 2)

        // Tampering: reconcile names the row and exits 1.
        let connection = try database.connect()
        try connection.query("UPDATE holdings SET shares = 1000 WHERE account_id = 3")
        let bad = try CLI.run(["reconcile", "--db", db, "--data", "L", "--statement", "statement.csv"], in: dir)
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("holding account=3 security=1 (ACME): database 1000, ledger 1200"), "\(bad.stdout)")
        #expect(bad.stdout.contains("statement line 3: account=3 security=ACME: statement 1200, database 1000"), "\(bad.stdout)")
        #expect(bad.stdout.contains("reconcile: 4 difference(s) at height 4"), "\(bad.stdout)")

        let noDB = try CLI.run(["mirror", "run", "--data", "L", "--db", "dbname=no_such_database_here", "--once"], in: dir)
        #expect(noDB.status == 1 && noDB.stderr.hasPrefix("error: --db: connect: ") && noDB.stderr.split(separator: "\n").count == 1, "\(noDB.stderr)")
        let noLedger = try CLI.run(["mirror", "run", "--data", "nowhere", "--db", db, "--once"], in: dir)
        #expect(noLedger.status == 1 && noLedger.stderr.contains("--data=nowhere"), "\(noLedger.stderr)")
    }
}

/// PostgreSQL unreachable under a running `mirror run`, then back: the mirror
/// retries with back-off, says how far the ledger is, and catches up with
/// nothing lost or doubled. The shared test server must stay up for the other
/// tests, so the mirror reaches it through a socket symlink in a folder of its
/// own: removing the link (and ending the mirror's backend) is the outage.
@Suite struct MirrorOutageTests {
    /// Polls until the watermark reaches `height`.
    static func waitForHeight(_ db: PostgresConnection, _ height: Int, seconds: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let value = try? db.value("SELECT height FROM mirror_watermark"), Int(value) == height { return true }
            usleep(50_000)
        }
        return false
    }

    @Test func survivesPostgresOutages() throws {
        let (database, db) = try TestDatabase.migrated("outage")
        guard let host = ProcessInfo.processInfo.environment["PGHOST"] else { return }
        let port = ProcessInfo.processInfo.environment["PGPORT"] ?? "5432"
        let linkDir = "/tmp/clm-link-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        try FileManager.default.createDirectory(atPath: linkDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: linkDir) }
        let link = linkDir + "/.s.PGSQL.\(port)"
        func up() throws { try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: host + "/.s.PGSQL.\(port)") }
        func down() throws {
            try FileManager.default.removeItem(atPath: link)
            try db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [database.name])
        }

        let dir = try CLI.ledger()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let mirror = Process()
        mirror.executableURL = URL(fileURLWithPath: CLI.binary)
        mirror.arguments = ["mirror", "run", "--data", "L", "--db", "host=\(linkDir) port=\(port) dbname=\(database.name)", "--poll-ms", "20"]
        mirror.currentDirectoryURL = URL(fileURLWithPath: dir)
        let log = dir + "/mirror.err"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        mirror.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        mirror.standardOutput = FileHandle.nullDevice
        try mirror.run()
        // SIGKILL, as a crash would: the child runs with SIGTERM blocked (inherited
        // from the test runner's threads), so terminate() would wait forever.
        func stop() {
            if mirror.isRunning { kill(mirror.processIdentifier, SIGKILL) }
            mirror.waitUntilExit()
        }
        defer { stop() }

        usleep(500_000) // a few failed attempts while the server is unreachable
        #expect(try db.value("SELECT count(*) FROM mirror_watermark") == "0")
        try up()
        #expect(Self.waitForHeight(db, 3))
        try CLI.admin(["deposit", "--account", "2", "--amount", "10"], in: dir)
        #expect(Self.waitForHeight(db, 4))

        // Down again while blocks arrive; up again: everything once.
        try down()
        try CLI.admin(["deposit", "--account", "2", "--amount", "20"], in: dir)
        try CLI.admin(["issue", "--security", "ACME", "--to", "3", "--shares", "5"], in: dir)
        usleep(500_000)
        #expect(try db.value("SELECT height FROM mirror_watermark") == "4")
        try up()
        #expect(Self.waitForHeight(db, 6))
        stop()

        #expect(try db.rows("SELECT count(*), count(DISTINCT height), max(height) FROM blocks") == [["6", "6", "6"]])
        #expect(try db.rows("SELECT account_id, amount FROM cash_balances") == [["2", "30"]])
        #expect(try db.rows("SELECT account_id, shares FROM holdings ORDER BY 1") == [["2", "3800"], ["3", "1205"]])
        let stderr = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(stderr.contains("mirror: PostgreSQL unavailable (connect: "), "\(stderr)")
        #expect(stderr.contains("ledger at height 3; retrying in"), "\(stderr)")
        #expect(stderr.contains("ledger at height 6; retrying in"), "\(stderr)")
    }
}

/// Exactly once under SIGKILL: `mirror run` killed at seeded random moments
/// while it writes batches, restarted each time; at the end every block, trade
/// and movement is there once and reconcile agrees.
@Suite struct MirrorKillTests {
    @Test func killedMidBatchResumesExactlyOnce() throws {
        let (database, db) = try TestDatabase.migrated("kill")
        let ledger = try LedgerBuilder.standard()
        var tradeID: UInt64 = 1000
        for _ in 0..<30 {
            let trades = (0..<400).map { i -> Trade in
                tradeID += 1
                // Alice and O'Brien trade back and forth; O'Brien always has the cash.
                return i % 2 == 0
                    ? Trade(tradeID: tradeID, buyer: 3, seller: 2, security: 7, shares: 1, price: 100)
                    : Trade(tradeID: tradeID, buyer: 2, seller: 3, security: 7, shares: 1, price: 100)
            }
            try ledger.settle(trades)
        }
        let seed = ProcessInfo.processInfo.environment["CLEARLEDGER_KILL_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...1_000_000)
        print("MirrorKillTests seed \(seed) (CLEARLEDGER_KILL_SEED repeats it)")
        var rng = SplitMix(state: seed)
        var kills = 0
        var heights: [String] = []
        // The builder's directory has no genesis.json for the CLI, so each run is a
        // forked child driving the library. A child that hangs after fork (a lock
        // another thread held) is killed like the rest; the parent only reads.
        for _ in 0..<12 {
            let pid = fork()
            if pid == 0 {
                // Child: mirror until killed (or done), then exit without cleanup.
                if let connection = try? PostgresConnection(database.conninfo) {
                    _ = try? LedgerMirror(ledgerDirectory: ledger.directory, genesis: ledger.genesis, batchBlocks: 2).mirrorAvailable(into: connection)
                }
                _exit(0)
            }
            usleep(UInt32(rng.next() % 150_000))
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            kills += 1
            heights.append(try db.value("SELECT coalesce(max(height), 0) FROM mirror_watermark") ?? "0")
        }
        print("MirrorKillTests: watermark after each kill: \(heights.joined(separator: " "))")
        let final = try LedgerMirror(ledgerDirectory: ledger.directory, genesis: ledger.genesis).mirrorAvailable(into: db)
        #expect(final.height == 33)
        #expect(try db.rows("SELECT count(*), count(DISTINCT height) FROM blocks") == [["33", "33"]])
        #expect(try db.rows("SELECT count(*), count(DISTINCT trade_id) FROM trades WHERE status = 'settled'") == [["12002", "12002"]])
        #expect(try db.value("SELECT count(*) FROM holding_movements") == String(1 + 4 + 30 * 400 * 2))
        let report = try Reconciler.reconcile(db, ledgerDirectory: ledger.directory, genesis: ledger.genesis)
        #expect(report.agrees, "\(report.differences)")
        #expect(kills == 12)
    }
}

struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
