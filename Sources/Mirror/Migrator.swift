import Cryptography

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One schema step: `Database/migrations/NNNN_name.sql`.
package struct Migration: Equatable, Sendable {
    package var version: Int
    package var name: String
    package var sql: String

    package init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// SHA-256 of the file's bytes: an applied migration must never change, since
    /// every database that ran the old text would silently differ from a new one.
    package var checksum: String { SHA256.hash(Array(sql.utf8)).hex }
}

package struct MigrationError: Error, Equatable, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// Applies migrations in version order, each in its own transaction together
/// with its row in `schema_versions`, under an advisory lock so two migrators
/// never interleave. Re-running is a no-op; an applied migration whose text
/// changed is an error naming it.
package enum Migrator {
    /// Arbitrary constant for `pg_advisory_xact_lock`: "CLMIGRAT".
    static let lockKey = "4849238939187298644"

    /// Reads `NNNN_name.sql` files from `directory`, sorted by version.
    package static func load(directory: String) throws(MigrationError) -> [Migration] {
        guard let dir = opendir(directory) else { throw MigrationError("migrations=\(directory): cannot open the directory") }
        defer { closedir(dir) }
        var migrations: [Migration] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name.hasSuffix(".sql"), !name.hasPrefix(".") else { continue }
            guard let underscore = name.firstIndex(of: "_"), let version = Int(name[..<underscore]), version > 0 else {
                throw MigrationError("migrations=\(directory)/\(name): name must be NNNN_name.sql")
            }
            let path = directory + "/" + name
            guard let sql = readFile(path) else { throw MigrationError("migration=\(path): cannot read the file") }
            if let clash = migrations.first(where: { $0.version == version }) {
                throw MigrationError("migration=\(path): version \(version) is also \(clash.name)")
            }
            migrations.append(Migration(version: version, name: name, sql: sql))
        }
        return migrations.sorted { $0.version < $1.version }
    }

    /// Applies what is missing; returns the migrations applied by this call.
    @discardableResult
    package static func migrate(_ connection: PostgresConnection, _ migrations: [Migration]) throws -> [Migration] {
        try connection.query("""
            CREATE TABLE IF NOT EXISTS schema_versions (
                version     integer PRIMARY KEY,
                name        text NOT NULL,
                checksum    text NOT NULL,
                applied_at  timestamptz NOT NULL DEFAULT now()
            )
            """)
        var applied: [Migration] = []
        for migration in migrations {
            let didApply = try connection.transaction { () throws -> Bool in
                try connection.query("SELECT pg_advisory_xact_lock($1::bigint)", [lockKey])
                let existing = try connection.query("SELECT name, checksum FROM schema_versions WHERE version = $1::integer",
                                                    [String(migration.version)])
                if let row = existing.rows.first {
                    guard row[1] == migration.checksum else {
                        throw MigrationError("migration=\(migration.name): already applied as \(row[0] ?? "?") with checksum \(row[1] ?? "?"), the file now has \(migration.checksum); add a new migration instead of editing an applied one")
                    }
                    return false
                }
                try connection.execute(script: migration.sql, context: "migration \(migration.name)")
                try connection.query("INSERT INTO schema_versions (version, name, checksum) VALUES ($1::integer, $2, $3)",
                                     [String(migration.version), migration.name, migration.checksum])
                return true
            }
            if didApply { applied.append(migration) }
        }
        return applied
    }

    private static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n > 0 { bytes.append(contentsOf: buffer[0..<n]) }
            if n < buffer.count { break }
            if bytes.count > 16 << 20 { return nil }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

/// Finds the repository's `Database/` folder: from the working directory or
/// from the executable's location, walking up (a built binary lives in
/// `.build/<triple>/debug`, so the checkout is a few levels above it).
package enum DatabaseFiles {
    package static func locate(_ subdirectory: String) -> String? {
        var starts: [String] = []
        if let cwd = getcwd(nil, 0) { starts.append(String(cString: cwd)); free(cwd) }
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 {
            let exe = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            starts.append(String(exe[..<(exe.lastIndex(of: "/") ?? exe.endIndex)]))
        }
        for start in starts {
            var dir = start
            while !dir.isEmpty {
                let candidate = dir + "/Database/" + subdirectory
                if access(candidate, F_OK) == 0 { return candidate }
                guard let slash = dir.lastIndex(of: "/") else { break }
                dir = String(dir[..<slash])
            }
        }
        return nil
    }
}
