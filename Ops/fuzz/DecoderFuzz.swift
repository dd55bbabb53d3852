import Cryptography

// libFuzzer entry point for the ledger's decoders. Not part of the SwiftPM
// package: Ops/FUZZING.md builds it with `swiftc -sanitize=fuzzer,address`
// together with the Ledger sources.

/// Hostile bytes must give a DecodeError, never a crash, a hang or an unbounded
/// allocation; and whatever decodes must re-encode to exactly the same bytes
/// (the encoding is canonical, so two members never disagree on what was signed).
@_cdecl("LLVMFuzzerTestOneInput")
public func ledgerDecoderFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let stored = try? StoredBlock.decode(bytes) {
        precondition(stored.encoded == bytes, "StoredBlock encoding is not canonical")
    }
    if let block = try? Block.decode(bytes) {
        precondition(block.encoded == bytes, "Block encoding is not canonical")
        _ = Block.transactionsRoot(block.transactions)
    }
    if let tx = try? SignedTransaction.decode(bytes) {
        precondition(tx.encoded == bytes, "SignedTransaction encoding is not canonical")
    }
    var reader = ByteReader(bytes)
    _ = try? Receipt.decode(from: &reader)
    if let authority = FuzzAuthority.authority {
        _ = try? LedgerChain.restore(snapshot: bytes, authority: authority)
    }
    return 0
}

enum FuzzAuthority {
    static let authority: Authority? = {
        guard let admin = try? Ed25519PublicKey(rawRepresentation: [UInt8](repeating: 0x11, count: 32)),
              let exchange = try? Ed25519PublicKey(rawRepresentation: [UInt8](repeating: 0x22, count: 32)) else { return nil }
        return Authority(adminKeys: [admin], exchangeKey: exchange)
    }()
}
