import ArgumentParser
import Cryptography
import Foundation
import Ledger

/// A holding proof as JSON: what a holder keeps and checks against the state
/// root certified by a block header, without trusting the member that served it.
struct ProofFile: Codable {
    struct Entry: Codable {
        var key: String
        var value: Int64
    }

    var account: UInt32
    var asset: UInt32
    var value: Int64
    var afterHeight: UInt64
    var stateRoot: String
    var bucketBits: Int
    var bucketEntries: [Entry]
    var path: [[String]]
    var treeRoot: String
    var registryRoot: String
    var nonceRoot: String
    var settledRoot: String
    var settledCount: UInt64

    init(_ proof: HoldingProof, height: UInt64, stateRoot: SHA256Digest) {
        account = proof.account
        asset = proof.asset
        value = proof.value
        afterHeight = height
        self.stateRoot = stateRoot.hex
        bucketBits = proof.tree.bucketBits
        bucketEntries = proof.tree.bucketEntries.map { Entry(key: String($0.key, radix: 16), value: $0.value) }
        path = proof.tree.path.map { $0.map(\.hex) }
        treeRoot = proof.parts.treeRoot.hex
        registryRoot = proof.parts.registryRoot.hex
        nonceRoot = proof.parts.nonceRoot.hex
        settledRoot = proof.parts.settledRoot.hex
        settledCount = proof.parts.settledCount
    }

    func holdingProof() throws -> HoldingProof {
        func digest(_ hex: String, _ field: String) throws -> SHA256Digest {
            do { return try SHA256Digest(hex: hex, field: field) } catch { throw CommandError("\(field)=\(hex): \(error)") }
        }
        let entries = try bucketEntries.enumerated().map { i, e -> LeafEntry in
            guard let key = UInt64(e.key, radix: 16) else { throw CommandError("bucketEntries[\(i)].key=\(e.key): not hexadecimal") }
            return LeafEntry(key: key, value: e.value)
        }
        guard path.count <= 8, path.allSatisfy({ $0.count <= 16 }) else { throw CommandError("path: more levels or children than any tree has") }
        let tree = TreeProof(key: leafKey(account: account, asset: asset), bucketBits: bucketBits, bucketEntries: entries,
                             path: try path.enumerated().map { l, level in try level.enumerated().map { i, h in try digest(h, "path[\(l)][\(i)]") } })
        let parts = StateRootParts(treeRoot: try digest(treeRoot, "treeRoot"), registryRoot: try digest(registryRoot, "registryRoot"),
                                   nonceRoot: try digest(nonceRoot, "nonceRoot"),
                                   settledRoot: try digest(settledRoot, "settledRoot"), settledCount: settledCount)
        return HoldingProof(account: account, asset: asset, value: value, tree: tree, parts: parts)
    }
}

/// Prints a Merkle proof that an account holds a balance in the current state.
struct LedgerProofCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proof",
        abstract: "Print a Merkle proof (JSON) of one account's holding of a security, or its cash."
    )

    @Option(help: "Ledger directory.") var ledger: String
    @Option(help: "Account id.") var account: UInt32
    @Option(help: "Security id or symbol, or 'cash'.") var security: String

    func run() throws {
        try runReportingErrors {
            let node = try LedgerDirectory.open(ledger)
            var state = node.chain.state
            let asset: SecurityID = security == "cash" ? 0 : try resolveSecurity(security, in: state)
            guard state.accounts[account] != nil else { throw CommandError("--account=\(account): unknown account") }
            let proof = state.proof(account: account, asset: asset)
            guard proof.verify(stateRoot: node.chain.stateRoot) else { throw CommandError("internal: proof does not verify against the ledger's own root") }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(ProofFile(proof, height: node.height, stateRoot: node.chain.stateRoot))
            print(String(decoding: data, as: UTF8.self))
        }
    }
}

/// Checks a proof file against a state root the user trusts (from a certified
/// block header: the root after block h is in block h+1's header).
struct VerifyProofCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-proof",
        abstract: "Check a proof file against a trusted state root; exit 0 if it holds, 1 if not."
    )

    @Option(help: "Proof file from `clearledger ledger proof`.") var proof: String
    @Option(help: "Trusted state root (hex).") var stateRoot: String

    func run() throws {
        try runReportingErrors {
            let text = try readText(proof, field: "--proof")
            let file: ProofFile
            do { file = try JSONDecoder().decode(ProofFile.self, from: Data(text.utf8)) } catch let error as DecodingError {
                throw CommandError("--proof=\(proof): \(GenesisFile.describe(error))")
            }
            let root: SHA256Digest
            do { root = try SHA256Digest(hex: stateRoot, field: "--state-root") } catch { throw CommandError("--state-root=\(stateRoot): \(error)") }
            guard try file.holdingProof().verify(stateRoot: root) else {
                throw CommandError("--proof=\(proof): does not prove account \(file.account) holds \(file.value) of asset \(file.asset) under state root \(stateRoot)")
            }
            print("verified: account \(file.account) holds \(file.value) of asset \(file.asset) (0 = cash) under state root \(stateRoot)")
        }
    }
}
