import CLibPQ
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a libpq call failed, with the server's or the library's own message.
struct LibPQError: Error, CustomStringConvertible {
    let description: String
}

/// Owns one libpq connection. `PQfinish` must run exactly once per `PGconn`, even
/// when a test fails half-way, and libpq connections are not safe to share between
/// threads: keep an instance inside one task.
final class Connection {
    private let handle: OpaquePointer

    /// Connects with libpq's own defaults; an empty `conninfo` reads PGHOST, PGPORT,
    /// PGUSER and PGDATABASE, which is how Ops/test points the tests at its server.
    init(conninfo: String = "") throws {
        guard let handle = PQconnectdb(conninfo) else {
            throw LibPQError(description: "PQconnectdb could not allocate a connection")
        }
        // libpq returns a connection object even when connecting failed; the object
        // carries the reason and must still be freed.
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = Self.message(PQerrorMessage(handle))
            PQfinish(handle)
            throw LibPQError(description: "connecting failed: \(message)")
        }
        self.handle = handle
    }

    deinit { PQfinish(handle) }

    /// The server's version as libpq encodes it (150004 for 15.4).
    var serverVersion: Int32 { PQserverVersion(handle) }

    /// Runs `sql` and returns the first column of the first row.
    func scalar(_ sql: String) throws -> String {
        guard let result = PQexec(handle, sql) else {
            throw LibPQError(description: "PQexec: \(Self.message(PQerrorMessage(handle)))")
        }
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_TUPLES_OK else {
            throw LibPQError(description: "\(sql): \(Self.message(PQresultErrorMessage(result)))")
        }
        guard PQntuples(result) > 0, PQnfields(result) > 0, PQgetisnull(result, 0, 0) == 0,
              let value = PQgetvalue(result, 0, 0)
        else {
            throw LibPQError(description: "\(sql): no value in the first row")
        }
        return String(cString: value)
    }

    private static func message(_ pointer: UnsafePointer<CChar>?) -> String {
        guard let pointer else { return "no message" }
        return String(cString: pointer).trimmingTrailingNewlines()
    }
}

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var copy = self
        while copy.last?.isNewline == true { copy.removeLast() }
        return copy
    }
}

/// The environment variable, or nil when unset or empty.
private func environment(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    let string = String(cString: value)
    return string.isEmpty ? nil : string
}

@Suite("libpq")
struct LibPQTests {
    @Test("the linked libpq is version 15 or later")
    func libraryVersion() {
        #expect(PQlibVersion() >= 150_000)
    }

    @Test("connects to the PostgreSQL 15 server that Ops/test started, and runs a query")
    func connectsAndQueries() throws {
        guard let host = environment("PGHOST") else {
            Issue.record("""
                PGHOST is not set, so there is no database to test against. \
                Run the tests with Ops/test: it starts a throwaway PostgreSQL and sets PGHOST, PGPORT, PGUSER and PGDATABASE.
                """)
            return
        }
        let connection = try Connection()
        #expect(connection.serverVersion >= 150_000, "server at PGHOST=\(host) is version \(connection.serverVersion)")
        #expect(try connection.scalar("SELECT 1") == "1")
        if let database = environment("PGDATABASE") {
            #expect(try connection.scalar("SELECT current_database()") == database)
        }
    }

    @Test("a failed connection reports libpq's reason instead of crashing")
    func failedConnectionReportsReason() {
        // A socket directory that cannot exist: libpq fails before any network I/O.
        let error = #expect(throws: LibPQError.self) {
            try Connection(conninfo: "host=/nonexistent/clearledger-test port=1 connect_timeout=1")
        }
        #expect(error?.description.contains("/nonexistent/clearledger-test") == true, "\(String(describing: error))")
    }
}
