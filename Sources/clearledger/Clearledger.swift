import ArgumentParser

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@main
struct Clearledger: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clearledger",
        abstract: "Private-securities exchange with on-ledger clearing.",
        subcommands: [
            MatchCommand.self,
            KeygenCommand.self,
            GenesisCommand.self,
            AdminCommand.self,
            LedgerCommand.self,
            MirrorCommand.self,
            ReconcileCommand.self,
            ReportCommand.self,
            BenchCommand.self,
        ]
    )

    /// Maps outcomes to the exit codes users script against: 0 success, 1 a
    /// one-line error naming the field and value, 2 a usage error.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as CommandError {
            printError("error: \(error.description)")
            Self.exit(withError: ExitCode(1))
        } catch {
            if exitCode(for: error) == .validationFailure {
                printError(fullMessage(for: error))
                Self.exit(withError: ExitCode(2))
            }
            exit(withError: error)
        }
    }
}
