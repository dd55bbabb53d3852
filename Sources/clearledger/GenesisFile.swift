import Cryptography
import Foundation
import Ledger

/// The genesis file as JSON on disk. Keys are hex; every value is checked on load
/// and an error names the JSON field and the value found.
struct GenesisFile: Codable {
    struct Member: Codable {
        var id: UInt32
        var name: String
        var address: String
        var publicKey: String
    }

    struct AccountEntry: Codable {
        var id: UInt32
        var name: String
        var member: UInt32
        var eligible: Bool?
        var frozen: Bool?
    }

    struct SecurityEntry: Codable {
        var id: UInt32
        var symbol: String
        var name: String
        var issuer: UInt32
        var shareClass: String?
        var authorized: Int64
        var cashPerTick: Int64?
        var lotSize: Int64?
        /// "none", "eligible-only" or "lock-up:<microseconds since epoch>".
        var restriction: String?
    }

    var chainID: String
    var f: Int
    var checkpointInterval: UInt64
    var members: [Member]
    var adminKeys: [String]
    var exchangeKey: String
    var accounts: [AccountEntry]?
    var securities: [SecurityEntry]?
    var stateTreeBucketBits: Int?

    static func parseRestriction(_ text: String?, field: String) throws -> TransferRestriction {
        switch text ?? "none" {
        case "none": return .none
        case "eligible-only": return .eligibleHoldersOnly
        case let value where value.hasPrefix("lock-up:"):
            guard let until = Int64(value.dropFirst(8)) else { throw CommandError("\(field)=\(value): lock-up needs microseconds, e.g. lock-up:1767225600000000") }
            return .lockUp(until: until)
        case let value:
            throw CommandError("\(field)=\(value): expected none, eligible-only or lock-up:<microseconds>")
        }
    }

    static func restrictionText(_ restriction: TransferRestriction) -> String {
        switch restriction {
        case .none: return "none"
        case .eligibleHoldersOnly: return "eligible-only"
        case let .lockUp(until): return "lock-up:\(until)"
        }
    }

    func genesis() throws -> Genesis {
        func key(_ hex: String, _ field: String) throws -> Ed25519PublicKey {
            do { return try Ed25519PublicKey(hex: hex, field: field) } catch { throw CommandError("\(field)=\(hex): \(error)") }
        }
        let members = try self.members.enumerated().map { i, m in
            Genesis.Member(id: m.id, name: m.name, address: m.address, publicKey: try key(m.publicKey, "members[\(i)].publicKey"))
        }
        let admins = try adminKeys.enumerated().map { i, hex in try key(hex, "adminKeys[\(i)]") }
        let accounts = (self.accounts ?? []).map {
            Account(id: $0.id, name: $0.name, member: $0.member, eligible: $0.eligible ?? false, frozen: $0.frozen ?? false)
        }
        let securities = try (self.securities ?? []).enumerated().map { i, s in
            Security(id: s.id, symbol: s.symbol, name: s.name, issuer: s.issuer, shareClass: s.shareClass ?? "common",
                     authorized: s.authorized, cashPerTick: s.cashPerTick ?? 1, lotSize: s.lotSize ?? 1,
                     restriction: try Self.parseRestriction(s.restriction, field: "securities[\(i)].restriction"))
        }
        let genesis = Genesis(chainID: chainID, members: members, f: f, adminKeys: admins,
                              exchangeKey: try key(exchangeKey, "exchangeKey"), checkpointInterval: checkpointInterval,
                              accounts: accounts, securities: securities,
                              stateTreeBucketBits: stateTreeBucketBits ?? StateTree.defaultBucketBits)
        do { try genesis.validate() } catch { throw CommandError("genesis \(error)") }
        return genesis
    }

    init(_ genesis: Genesis) {
        chainID = genesis.chainID
        f = genesis.f
        checkpointInterval = genesis.checkpointInterval
        members = genesis.members.map { Member(id: $0.id, name: $0.name, address: $0.address, publicKey: $0.publicKey.hex) }
        adminKeys = genesis.adminKeys.map(\.hex)
        exchangeKey = genesis.exchangeKey.hex
        accounts = genesis.accounts.map { AccountEntry(id: $0.id, name: $0.name, member: $0.member, eligible: $0.eligible, frozen: $0.frozen) }
        stateTreeBucketBits = genesis.stateTreeBucketBits
        securities = genesis.securities.map {
            SecurityEntry(id: $0.id, symbol: $0.symbol, name: $0.name, issuer: $0.issuer, shareClass: $0.shareClass,
                          authorized: $0.authorized, cashPerTick: $0.cashPerTick, lotSize: $0.lotSize,
                          restriction: Self.restrictionText($0.restriction))
        }
    }

    static func load(_ path: String) throws -> Genesis {
        let text = try readText(path, field: "--genesis")
        let file: GenesisFile
        do {
            file = try JSONDecoder().decode(GenesisFile.self, from: Data(text.utf8))
        } catch let error as DecodingError {
            throw CommandError("\(path): \(describe(error))")
        }
        do { return try file.genesis() } catch { throw CommandError("\(path): \(error)") }
    }

    func write(_ path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(self)
        try (data + Data("\n".utf8)).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// DecodingError as one line: the JSON path and what was wrong there.
    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            let text = codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.hasPrefix(".") ? String(text.dropFirst()) : (text.isEmpty ? "(top level)" : text)
        }
        switch error {
        case let .keyNotFound(key, context):
            return "\(path(context.codingPath + [key])): missing"
        case let .typeMismatch(type, context):
            return "\(path(context.codingPath)): expected \(type)"
        case let .valueNotFound(type, context):
            return "\(path(context.codingPath)): expected \(type), found null"
        case let .dataCorrupted(context):
            let detail = context.debugDescription.split(separator: "\n").first.map(String.init) ?? "invalid"
            return "\(path(context.codingPath)): \(detail)"
        @unknown default:
            return "invalid genesis JSON"
        }
    }
}
