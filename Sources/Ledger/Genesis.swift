import Cryptography

/// The consortium's founding document: who the members are, who may sign what,
/// and what the ledger starts with. Its canonical hash is block 1's previous hash,
/// so two members with different genesis files can never agree on a block.
public struct Genesis: Sendable {
    public struct Member: Sendable {
        public var id: UInt32
        public var name: String
        public var address: String
        public var publicKey: Ed25519PublicKey

        public init(id: UInt32, name: String, address: String, publicKey: Ed25519PublicKey) {
            self.id = id
            self.name = name
            self.address = address
            self.publicKey = publicKey
        }
    }

    public var chainID: String
    public var members: [Member]
    public var f: Int
    public var adminKeys: [Ed25519PublicKey]
    public var exchangeKey: Ed25519PublicKey
    /// Blocks between checkpoints (and state snapshots).
    public var checkpointInterval: UInt64
    public var accounts: [Account]
    public var securities: [Security]
    /// log2 of the state tree's bucket count (8, 12, 16 or 20): size it to the
    /// expected number of balances, about 16 per bucket. Part of the genesis hash.
    public var stateTreeBucketBits: Int

    public init(chainID: String, members: [Member], f: Int, adminKeys: [Ed25519PublicKey], exchangeKey: Ed25519PublicKey,
                checkpointInterval: UInt64, accounts: [Account] = [], securities: [Security] = [],
                stateTreeBucketBits: Int = StateTree.defaultBucketBits) {
        self.chainID = chainID
        self.members = members
        self.f = f
        self.adminKeys = adminKeys
        self.exchangeKey = exchangeKey
        self.checkpointInterval = checkpointInterval
        self.accounts = accounts
        self.securities = securities
        self.stateTreeBucketBits = stateTreeBucketBits
    }

    public var authority: Authority { Authority(adminKeys: adminKeys, exchangeKey: exchangeKey) }

    /// Checks everything a member relies on; the error names the field and value.
    public func validate() throws(Failure) {
        guard !chainID.isEmpty, chainID.utf8.count <= 64 else { throw Failure(.invalidField, field: "chainID", value: chainID) }
        guard f >= 0 else { throw Failure(.invalidField, field: "f", f) }
        guard members.count >= 3 * f + 1 else {
            throw Failure(.invalidField, field: "f", value: "\(f) needs at least \(3 * f + 1) members, have \(members.count)")
        }
        var ids: Set<UInt32> = []
        var keys: Set<Ed25519PublicKey> = []
        for (i, member) in members.enumerated() {
            guard ids.insert(member.id).inserted else { throw Failure(.invalidField, field: "members[\(i)].id", value: "\(member.id) (duplicate)") }
            guard keys.insert(member.publicKey).inserted else {
                throw Failure(.invalidField, field: "members[\(i)].publicKey", value: "\(member.publicKey.hex) (duplicate)")
            }
            guard !member.name.isEmpty, member.name.utf8.count <= CodecLimits.maxStringBytes else {
                throw Failure(.invalidField, field: "members[\(i)].name", value: member.name)
            }
            guard member.address.utf8.count <= CodecLimits.maxStringBytes else {
                throw Failure(.invalidField, field: "members[\(i)].address", value: member.address)
            }
        }
        guard !adminKeys.isEmpty else { throw Failure(.invalidField, field: "adminKeys", value: "[] (at least one needed)") }
        for (i, key) in adminKeys.enumerated() where key == exchangeKey {
            throw Failure(.invalidField, field: "adminKeys[\(i)]", value: "\(key.hex) (same as exchangeKey)")
        }
        guard StateTree.isValid(bucketBits: stateTreeBucketBits) else {
            throw Failure(.invalidField, field: "stateTreeBucketBits", value: "\(stateTreeBucketBits) (must be 8, 12, 16 or 20)")
        }
        guard checkpointInterval > 0 else { throw Failure(.invalidField, field: "checkpointInterval", checkpointInterval) }
        _ = try initialState()
    }

    /// The state before block 1: genesis accounts and securities applied through
    /// the same validation as transactions.
    public func initialState() throws(Failure) -> LedgerState {
        guard StateTree.isValid(bucketBits: stateTreeBucketBits) else {
            throw Failure(.invalidField, field: "stateTreeBucketBits", stateTreeBucketBits)
        }
        var state = LedgerState(authority: authority, stateTreeBucketBits: stateTreeBucketBits)
        for (i, account) in accounts.enumerated() {
            if case let .rejected(failure) = state.applyAuthorized(.createAccount(account), timestamp: 0) {
                throw Failure(failure.reason, field: "accounts[\(i)].\(failure.field)", value: failure.value)
            }
        }
        for (i, security) in securities.enumerated() {
            if case let .rejected(failure) = state.applyAuthorized(.createSecurity(security), timestamp: 0) {
                throw Failure(failure.reason, field: "securities[\(i)].\(failure.field)", value: failure.value)
            }
        }
        return state
    }

    public func encode(into w: inout ByteWriter) {
        w.raw(Array("clearledger/genesis".utf8))
        w.u8(CodecLimits.version)
        w.string(chainID)
        w.count(members.count)
        for m in members { w.u32(m.id); w.string(m.name); w.string(m.address); w.raw(m.publicKey.rawRepresentation) }
        w.u64(UInt64(max(0, f)))
        w.count(adminKeys.count)
        for key in adminKeys { w.raw(key.rawRepresentation) }
        w.raw(exchangeKey.rawRepresentation)
        w.u64(checkpointInterval)
        w.count(accounts.count)
        for a in accounts { a.encode(into: &w) }
        w.count(securities.count)
        for s in securities { s.encode(into: &w) }
        w.u8(UInt8(truncatingIfNeeded: stateTreeBucketBits))
    }

    /// Finality from the genesis file alone: at least 2f+1 distinct members named
    /// here signed (view, sequence, hash) of exactly this block. Votes from unknown
    /// members, repeated members or bad signatures do not count.
    public func isFinal(_ block: Block, certificate: CommitCertificate) -> Bool {
        let hash = block.hash
        guard certificate.blockHash == hash, certificate.view == block.header.view,
              certificate.sequence == block.header.sequence else { return false }
        let message = CommitCertificate.signingBytes(view: certificate.view, sequence: certificate.sequence, blockHash: hash)
        var keys: [UInt32: Ed25519PublicKey] = [:]
        for member in members { keys[member.id] = member.publicKey }
        var counted: Set<UInt32> = []
        for vote in certificate.votes where !counted.contains(vote.member) {
            guard let key = keys[vote.member], vote.signature.count == Ed25519PublicKey.signatureByteCount,
                  key.isValidSignature(vote.signature, for: message) else { continue }
            counted.insert(vote.member)
        }
        return counted.count >= 2 * f + 1
    }

    public var hash: SHA256Digest {
        var w = ByteWriter(capacity: 1024)
        encode(into: &w)
        return SHA256.hash(w.bytes)
    }
}
