import CLibPQ

/// A failed libpq call: what we were doing, the server's SQLSTATE when it sent
/// one (e.g. 23505 unique violation, 08006 connection failure) and its message.
package struct PostgresError: Error, Equatable, Sendable, CustomStringConvertible {
    package var context: String
    /// Five-character SQLSTATE, or nil when the failure was on the client side.
    package var sqlState: String?
    package var message: String

    package init(context: String, sqlState: String?, message: String) {
        self.context = context
        self.sqlState = sqlState
        self.message = message
    }

    package var description: String {
        "\(context): " + (sqlState.map { "SQLSTATE \($0): " } ?? "") + message
    }

    /// Class 08 (connection exception) or no server answer at all: worth a retry.
    package var isConnectionProblem: Bool {
        guard let sqlState else { return true }
        return sqlState.hasPrefix("08") || sqlState == "57P01" || sqlState == "57P03"
    }
}

/// Rows of a query in libpq's text format; NULL is nil.
package struct QueryResult: Sendable {
    package var columns: [String]
    package var rows: [[String?]]

    package var isEmpty: Bool { rows.isEmpty }

    /// First column of the first row.
    package var scalar: String? { rows.first?.first ?? nil }
}

/// Owns one libpq connection. `PGconn` is not thread-safe: an instance is
/// confined to the thread (or task) that made it, which is why this class is
/// not `Sendable`. `PQfinish` runs exactly once, in `deinit`.
///
/// Values always travel as bind parameters (`PQexecParams`); the only SQL built
/// from strings is fixed text in this module and identifiers quoted by
/// `PQescapeIdentifier`.
package final class PostgresConnection {
    private let handle: OpaquePointer

    /// `conninfo` is a libpq connection string or URI; empty reads PGHOST, PGPORT,
    /// PGUSER, PGDATABASE like psql does.
    package init(_ conninfo: String) throws(PostgresError) {
        guard let handle = PQconnectdb(conninfo) else {
            throw PostgresError(context: "connect", sqlState: nil, message: "PQconnectdb could not allocate a connection")
        }
        // libpq returns an object even when connecting failed; it carries the reason
        // and must still be freed.
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = Self.text(PQerrorMessage(handle))
            PQfinish(handle)
            throw PostgresError(context: "connect", sqlState: nil, message: message)
        }
        // Notices (e.g. "relation already exists, skipping") would go to stderr.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        self.handle = handle
    }

    deinit { PQfinish(handle) }

    package var isConnected: Bool { PQstatus(handle) == CONNECTION_OK }

    /// Runs one statement with `$1`, `$2`… bound to `parameters` (text format;
    /// nil is NULL). The server parses the SQL before it sees any value.
    @discardableResult
    package func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> QueryResult {
        let result = withCStrings(parameters) { values in
            PQexecParams(handle, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        return try consume(result, context: Self.context(sql))
    }

    /// Runs a script of several statements without parameters (migrations only:
    /// their text is ours, not the user's).
    package func execute(script sql: String, context: String) throws(PostgresError) {
        _ = try consume(PQexec(handle, sql), context: context)
    }

    /// Streams `data` into `COPY … FROM STDIN` (text or binary, as `sql` says).
    /// Returns the number of rows the server reports.
    @discardableResult
    package func copy(_ sql: String, data: [UInt8]) throws(PostgresError) -> Int {
        let context = Self.context(sql)
        let start = PQexec(handle, sql)
        defer { PQclear(start) }
        guard PQresultStatus(start) == PGRES_COPY_IN else { throw error(start, context: context) }
        var offset = 0
        let chunk = 1 << 20
        while offset < data.count {
            let end = min(data.count, offset + chunk)
            let sent = data.withUnsafeBufferPointer { buffer in
                buffer.baseAddress.map { base in
                    base.advanced(by: offset).withMemoryRebound(to: CChar.self, capacity: end - offset) {
                        PQputCopyData(handle, $0, Int32(end - offset))
                    }
                } ?? -1
            }
            guard sent == 1 else {
                throw PostgresError(context: context, sqlState: nil, message: "PQputCopyData: " + Self.text(PQerrorMessage(handle)))
            }
            offset = end
        }
        guard PQputCopyEnd(handle, nil) == 1 else {
            throw PostgresError(context: context, sqlState: nil, message: "PQputCopyEnd: " + Self.text(PQerrorMessage(handle)))
        }
        var rows = 0
        var failure: PostgresError?
        // Drain every result; the COPY's own result carries its row count or error.
        while let result = PQgetResult(handle) {
            if PQresultStatus(result) == PGRES_COMMAND_OK {
                rows = Int(String(cString: PQcmdTuples(result))) ?? 0
            } else if failure == nil {
                failure = error(result, context: context)
            }
            PQclear(result)
        }
        if let failure { throw failure }
        return rows
    }

    /// Runs `body` inside BEGIN … COMMIT; any error rolls back and is rethrown.
    package func transaction<T>(_ body: () throws -> T) throws -> T {
        try query("BEGIN")
        do {
            let value = try body()
            try query("COMMIT")
            return value
        } catch {
            // The rollback's own failure (connection gone) would hide the cause.
            _ = try? query("ROLLBACK")
            throw error
        }
    }

    /// `"name"` with embedded quotes doubled, for the few identifiers (database
    /// names in tests and tools) that cannot be bind parameters.
    package func quoteIdentifier(_ name: String) throws(PostgresError) -> String {
        guard let quoted = PQescapeIdentifier(handle, name, name.utf8.count) else {
            throw PostgresError(context: "quote identifier \(name)", sqlState: nil, message: Self.text(PQerrorMessage(handle)))
        }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }

    // MARK: Internals

    private func consume(_ result: OpaquePointer?, context: String) throws(PostgresError) -> QueryResult {
        guard let result else {
            throw PostgresError(context: context, sqlState: nil, message: Self.text(PQerrorMessage(handle)))
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return QueryResult(columns: [], rows: [])
        case PGRES_TUPLES_OK:
            let fields = Int(PQnfields(result))
            let count = Int(PQntuples(result))
            var columns: [String] = []
            columns.reserveCapacity(fields)
            for f in 0..<fields { columns.append(PQfname(result, Int32(f)).map { String(cString: $0) } ?? "?column?") }
            var rows: [[String?]] = []
            rows.reserveCapacity(count)
            for r in 0..<count {
                var row: [String?] = []
                row.reserveCapacity(fields)
                for f in 0..<fields {
                    if PQgetisnull(result, Int32(r), Int32(f)) != 0 {
                        row.append(nil)
                    } else {
                        row.append(PQgetvalue(result, Int32(r), Int32(f)).map { String(cString: $0) } ?? "")
                    }
                }
                rows.append(row)
            }
            return QueryResult(columns: columns, rows: rows)
        default:
            throw error(result, context: context)
        }
    }

    private func error(_ result: OpaquePointer?, context: String) -> PostgresError {
        guard let result else {
            return PostgresError(context: context, sqlState: nil, message: Self.text(PQerrorMessage(handle)))
        }
        let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        var message = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
            ?? Self.text(PQresultErrorMessage(result))
        if let detail = PQresultErrorField(result, Int32(UInt8(ascii: "D"))) { message += " (" + String(cString: detail) + ")" }
        return PostgresError(context: context, sqlState: state, message: message)
    }

    /// libpq's message on one line (it puts hints on a second, tab-indented one).
    private static func text(_ pointer: UnsafePointer<CChar>?) -> String {
        guard let pointer else { return "no message" }
        var text = String(cString: pointer)
        while text.last == "\n" || text.last == " " { text.removeLast() }
        return text.split(whereSeparator: { $0 == "\n" || $0 == "\t" }).joined(separator: " ")
    }

    /// The statement's first words, so an error says which statement failed
    /// without echoing a whole COPY or script.
    private static func context(_ sql: String) -> String {
        let words = sql.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).prefix(6).joined(separator: " ")
        return words.count > 80 ? String(words.prefix(80)) + "…" : words
    }
}

/// Calls `body` with a C array of NUL-terminated copies of `strings` (nil stays
/// NULL), freed afterwards.
private func withCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { $0.flatMap { strdup($0) } }
    defer { for pointer in pointers { free(pointer) } }
    return body(pointers.map { $0.map { UnsafePointer($0) } })
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
