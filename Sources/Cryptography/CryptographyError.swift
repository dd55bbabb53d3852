import COpenSSL

/// Why a cryptographic operation could not be carried out. Verification failure is
/// not an error: `verify` answers `false`, so callers cannot mistake a bad signature
/// for a broken library.
public enum CryptographyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A key or signature of the wrong size; names what was given.
    case invalidLength(field: String, expected: Int, actual: Int)
    /// Text that is not hexadecimal where hex was expected.
    case invalidHex(field: String, value: String)
    /// A PEM document that OpenSSL could not read, or that holds another key type.
    case invalidPEM(reason: String)
    /// OpenSSL refused an operation that should not fail; carries its error queue.
    case openSSL(function: String, detail: String)

    public var description: String {
        switch self {
        case let .invalidLength(field, expected, actual):
            return "\(field): expected \(expected) bytes, got \(actual)"
        case let .invalidHex(field, value):
            let shown = value.count > 80 ? String(value.prefix(80)) + "…" : value
            return "\(field): not hexadecimal: \"\(shown)\""
        case let .invalidPEM(reason):
            return "PEM key: \(reason)"
        case let .openSSL(function, detail):
            return "OpenSSL \(function) failed: \(detail)"
        }
    }

    /// Drains OpenSSL's thread-local error queue so that one failure is not blamed on
    /// the next caller.
    static func openSSLFailure(_ function: String) -> CryptographyError {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return .openSSL(function: function, detail: messages.isEmpty ? "no detail" : messages.joined(separator: "; "))
    }
}
