@testable import Mirror
import Testing

@Suite struct MigrationTests {
    @Test func applyThenRerunIsANoOp() throws {
        let (database, connection) = try TestDatabase.migrated("migrate")
        _ = database
        let migrations = try TestDatabase.migrations()
        #expect(!migrations.isEmpty)
        #expect(try connection.value("SELECT count(*) FROM schema_versions") == String(migrations.count))
        let tables = try connection.rows("""
            SELECT table_name FROM information_schema.tables
            WHERE table_schema = 'public' ORDER BY table_name
            """).map { $0[0] }
        for table in ["accounts", "blocks", "cash_balances", "cash_movements", "holding_movements", "holdings",
                      "mirror_watermark", "schema_versions", "securities", "trades", "transactions"] {
            #expect(tables.contains(table), "\(table)")
        }
        let again = try Migrator.migrate(connection, migrations)
        #expect(again.isEmpty)
        #expect(try connection.value("SELECT count(*) FROM schema_versions") == String(migrations.count))
    }

    @Test func editedAppliedMigrationIsRefused() throws {
        let (database, connection) = try TestDatabase.migrated("edited")
        _ = database
        var migrations = try TestDatabase.migrations()
        migrations[0].sql += "\n-- edited\n"
        #expect {
            try Migrator.migrate(connection, migrations)
        } throws: { error in
            "\(error)".contains("migration=\(migrations[0].name): already applied")
        }
    }

    @Test func failingMigrationLeavesNothingBehind() throws {
        let database = try TestDatabase("failing")
        let connection = try database.connect()
        let migrations = [Migration(version: 1, name: "0001_ok.sql", sql: "CREATE TABLE a (x int);"),
                          Migration(version: 2, name: "0002_bad.sql", sql: "CREATE TABLE b (x int); SELECT * FROM missing;")]
        #expect(throws: PostgresError.self) { try Migrator.migrate(connection, migrations) }
        #expect(try connection.rows("SELECT version FROM schema_versions") == [["1"]])
        #expect(try connection.value("SELECT to_regclass('b')::text") == nil)
        #expect(try connection.value("SELECT to_regclass('a')::text") == "a")
    }

    @Test func errorsNameTheSQLState() throws {
        let database = try TestDatabase("errors")
        let connection = try database.connect()
        #expect {
            try connection.query("SELECT * FROM no_such_table")
        } throws: { error in
            (error as? PostgresError)?.sqlState == "42P01" && "\(error)".contains("SQLSTATE 42P01")
        }
        // A value with quotes and a statement terminator is data, never SQL.
        let hostile = "x'); DROP TABLE schema_versions; --"
        #expect(try connection.value("SELECT $1::text", [hostile]) == hostile)
    }
}
