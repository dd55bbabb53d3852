import ArgumentParser
import Cryptography
import Foundation

/// Writes an Ed25519 key pair: private.pem (mode 0600, created exclusively so an
/// existing key is never overwritten) and public.pem.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Generate an Ed25519 key pair (private.pem, public.pem) in a directory."
    )

    @Option(help: "Directory to write private.pem and public.pem into (created if missing).")
    var out: String

    func run() throws {
        try runReportingErrors {
            let fm = FileManager.default
            let privatePath = out + "/private.pem"
            let publicPath = out + "/public.pem"
            for path in [privatePath, publicPath] where fm.fileExists(atPath: path) {
                throw CommandError("--out=\(out): \(path) already exists; refusing to overwrite a key")
            }
            do { try fm.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
                throw CommandError("--out=\(out): cannot create directory")
            }
            let key = try Ed25519PrivateKey()
            // O_EXCL: a key appearing between the check and now is not clobbered either.
            let fd = open(privatePath, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard fd >= 0 else { throw CommandError("--out=\(out): cannot create \(privatePath): \(String(cString: strerror(errno)))") }
            let pem = Array(key.pemRepresentation.utf8)
            let written = pem.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            fsync(fd)
            close(fd)
            guard written == pem.count else { throw CommandError("--out=\(out): short write to \(privatePath)") }
            guard fm.createFile(atPath: publicPath, contents: Data(key.publicKey.pemRepresentation.utf8),
                                attributes: [.posixPermissions: 0o644]) else {
                throw CommandError("--out=\(out): cannot write \(publicPath)")
            }
            print("wrote \(privatePath) (0600) and \(publicPath)")
            print("public key \(key.publicKey.hex)")
        }
    }
}
