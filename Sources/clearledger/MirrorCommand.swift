import ArgumentParser
import Foundation
import Ledger
import Mirror

struct MirrorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mirror",
        abstract: "Mirror a ledger directory's finalized blocks into PostgreSQL.",
        subcommands: [MirrorMigrateCommand.self, MirrorRunCommand.self]
    )
}

/// Where `Database/<name>` is: the option when given, else found from the
/// working directory or the executable's location.
func databaseFolder(_ option: String?, _ name: String, flag: String) throws -> String {
    if let option { return option }
    guard let found = DatabaseFiles.locate(name) else {
        throw CommandError("\(flag): Database/\(name) not found from the working directory or the executable; pass \(flag) DIR")
    }
    return found
}

func connect(_ db: String) throws -> PostgresConnection {
    do { return try PostgresConnection(db) } catch { throw CommandError("--db: \(error)") }
}

struct MirrorMigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply Database/migrations in order, each in a transaction, recorded in schema_versions (re-running is a no-op).")

    @Option(help: "libpq connection string or URI (empty: PGHOST, PGDATABASE, … from the environment).")
    var db: String

    @Option(help: "Migrations folder (default: Database/migrations of the checkout).")
    var migrations: String?

    func run() throws {
        try runReportingErrors {
            let folder = try databaseFolder(migrations, "migrations", flag: "--migrations")
            let list = try Migrator.load(directory: folder)
            let connection = try connect(db)
            let applied = try Migrator.migrate(connection, list)
            for migration in applied { print("applied \(migration.name)") }
            print("schema at version \(list.last?.version ?? 0) (\(applied.count) applied now, \(list.count - applied.count) already)")
        }
    }
}

struct MirrorRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Mirror blocks above the watermark, one PostgreSQL transaction per batch; follow the ledger until stopped.")

    @Option(help: "Ledger directory (read-only; may be in use by a running node).")
    var data: String

    @Option(help: "libpq connection string or URI.")
    var db: String

    @Flag(help: "Mirror what is there now and exit (no retry).")
    var once = false

    @Option(help: "Blocks per PostgreSQL transaction.")
    var batchBlocks = 200

    @Option(help: "Milliseconds between looks at the ledger when caught up.")
    var pollMs = 200

    func validate() throws {
        guard batchBlocks >= 1 && batchBlocks <= 100_000 else { throw ValidationError("--batch-blocks=\(batchBlocks): must be 1…100000") }
        guard pollMs >= 1 && pollMs <= 60_000 else { throw ValidationError("--poll-ms=\(pollMs): must be 1…60000") }
    }

    func run() throws {
        try runReportingErrors {
            let genesis = try loadLedgerGenesis(data)
            let mirror = LedgerMirror(ledgerDirectory: data, genesis: genesis, batchBlocks: batchBlocks)
            if once {
                let connection = try connect(db)
                let started = Date()
                let progress = try mirror.mirrorAvailable(into: connection)
                report(progress, seconds: Date().timeIntervalSince(started))
                return
            }
            // PostgreSQL down or restarting never stops the mirror: back off, say
            // how far behind it is, reconnect, resume from the watermark.
            var connection: PostgresConnection?
            var backoff = 0.1
            while true {
                do {
                    let current = try connection ?? PostgresConnection(db)
                    connection = current
                    let started = Date()
                    let progress = try mirror.mirrorAvailable(into: current)
                    if progress.blocks > 0 { report(progress, seconds: Date().timeIntervalSince(started)) }
                    backoff = 0.1
                    usleep(UInt32(pollMs) * 1000)
                } catch let error as PostgresError where error.isConnectionProblem {
                    connection = nil
                    let lag = (try? BlockStore(directory: data + "/blocks", readOnly: true).count).map { "ledger at height \($0)" } ?? "ledger height unknown"
                    FileHandle.standardError.write(Data("mirror: PostgreSQL unavailable (\(error)); \(lag); retrying in \(String(format: "%.1f", backoff)) s\n".utf8))
                    usleep(UInt32(backoff * 1_000_000))
                    backoff = min(backoff * 2, 10)
                }
            }
        }
    }

    private func report(_ progress: MirrorProgress, seconds: Double) {
        let rate = seconds > 0 ? Int(Double(progress.rows) / seconds) : 0
        print("mirrored \(progress.blocks) blocks (\(progress.rows) rows, \(rate) rows/s) to height \(progress.height); ledger at \(progress.ledgerHeight), lag \(progress.lag)")
    }
}

func loadLedgerGenesis(_ directory: String) throws -> Genesis {
    let path = LedgerDirectory.genesisPath(directory)
    guard FileManager.default.fileExists(atPath: path) else {
        throw CommandError("--data=\(directory): not a ledger directory (no genesis.json)")
    }
    return try GenesisFile.load(path)
}

struct ReconcileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Compare the database with the ledger at the watermark and check the hash chain from SQL; exit 0 only when all agree.",
        discussion: """
            --statement FILE.csv: an external holdings statement, UTF-8 CSV with the header line \
            `account,security,shares` and one holding per line (account id, security symbol or id, whole shares). \
            Every listed holding must match the database, and every database holding of a listed account must be listed.
            """)

    @Option(help: "libpq connection string or URI.")
    var db: String

    @Option(help: "Ledger directory (read-only).")
    var data: String

    @Option(help: "External holdings statement CSV (account,security,shares).")
    var statement: String?

    func run() throws {
        try runReportingErrors {
            let genesis = try loadLedgerGenesis(data)
            let lines = try statement.map { try StatementLine.parse(try readText($0, field: "--statement"), source: $0) }
            let connection = try connect(db)
            let report = try Reconciler.reconcile(connection, ledgerDirectory: data, genesis: genesis, statement: lines)
            for difference in report.differences { print(difference) }
            print(report.summary)
            if !report.agrees { throw ExitCode.failure }
        }
    }
}

extension ReportFormat: ExpressibleByArgument {}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Run a report from Database/reports against the mirror database.",
        discussion: """
            Reports: holdings, cap-table, trades (by day and security, with VWAP), settlement-failures, \
            supply-check and chain-check (must be empty), movement-check, statement (custody statement, semt.002 fields). Options become bind parameters \
            for the file's psql variables (--at is :'height'); the same files run under psql -v name=value -f FILE.
            """)

    @Argument(help: "Report name (file name without .sql).")
    var name: String

    @Option(help: "libpq connection string or URI.")
    var db: String

    @Option(help: "Block height to report at (default: the watermark).")
    var at: UInt64?

    @Option(help: "Security symbol or id.")
    var security: String?

    @Option(help: "Account id.")
    var account: UInt32?

    @Option(help: "movement-check, statement: opening (previous statement) height.")
    var from: UInt64?

    @Option(help: "movement-check: closing height (default: the watermark).")
    var to: UInt64?

    @Option(help: "table, csv or json.")
    var format: ReportFormat = .table

    @Option(help: "Reports folder (default: Database/reports of the checkout).")
    var reports: String?

    func run() throws {
        try runReportingErrors {
            let folder = try databaseFolder(reports, "reports", flag: "--reports")
            let report = try Report.load(name: name, directory: folder)
            var values: [String: String] = [:]
            values["height"] = at.map(String.init)
            values["security"] = security
            values["account"] = account.map(String.init)
            values["from"] = from.map(String.init)
            values["to"] = to.map(String.init)
            let given: [(String, Bool)] = [("security", security != nil), ("account", account != nil), ("from", from != nil), ("to", to != nil),
                                           ("height", at != nil)]
            for (variable, isGiven) in given where isGiven && !report.variables.contains(variable) {
                throw CommandError("--\(variable == "height" ? "at" : variable): report \(name) takes no such parameter (it takes: \(report.variables.joined(separator: ", ")))")
            }
            if name == "statement" && account == nil {
                throw CommandError("--account: report statement needs an account id")
            }
            if report.variables.contains("security") && security == nil {
                throw CommandError("--security: report \(name) needs a security symbol or id")
            }
            let connection = try connect(db)
            print(format.render(try report.run(connection, values: values)))
        }
    }
}
