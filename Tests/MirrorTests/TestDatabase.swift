import Foundation
@testable import Mirror
import Testing

/// A database of its own for one test, on the real server `Ops/test` started
/// (PG* variables), created with a unique name and dropped at the end, so tests
/// run in parallel without seeing each other's rows.
final class TestDatabase {
    let name: String
    let conninfo: String
    private let admin: PostgresConnection

    init(_ label: String) throws {
        guard let host = ProcessInfo.processInfo.environment["PGHOST"], !host.isEmpty else {
            throw PostgresError(context: "MirrorTests", sqlState: nil,
                                message: "PGHOST is not set: run the tests through Ops/test, which starts a throwaway PostgreSQL")
        }
        admin = try PostgresConnection("dbname=postgres")
        name = "mirror_\(label)_\(UInt32.random(in: 0...UInt32.max))_\(getpid())".lowercased()
        try admin.query("CREATE DATABASE \(try admin.quoteIdentifier(name))")
        conninfo = "dbname=\(name)"
    }

    deinit {
        if let quoted = try? admin.quoteIdentifier(name) {
            _ = try? admin.query("DROP DATABASE IF EXISTS \(quoted) WITH (FORCE)")
        }
    }

    func connect() throws -> PostgresConnection { try PostgresConnection(conninfo) }

    /// The repository's migrations.
    static func migrations() throws -> [Migration] {
        try Migrator.load(directory: repositoryRoot + "/Database/migrations")
    }

    static let repositoryRoot: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]) }
        return path
    }()

    /// A fresh database with the schema applied.
    static func migrated(_ label: String) throws -> (TestDatabase, PostgresConnection) {
        let database = try TestDatabase(label)
        let connection = try database.connect()
        try Migrator.migrate(connection, try migrations())
        return (database, connection)
    }
}

extension PostgresConnection {
    /// The rows of `sql` as text cells, NULL as "NULL": compact expectations.
    func rows(_ sql: String, _ parameters: [String?] = []) throws -> [[String]] {
        try query(sql, parameters).rows.map { $0.map { $0 ?? "NULL" } }
    }

    func value(_ sql: String, _ parameters: [String?] = []) throws -> String? {
        try query(sql, parameters).scalar
    }
}
