import Cryptography

/// What happened to one transaction of a block. Rejected transactions changed
/// nothing; a settle batch is `settled` even if some of its trades failed, and
/// lists each failed trade with its reason.
public enum TransactionStatus: Equatable, Sendable {
    case applied
    case rejected(Failure)
    case settled(count: Int, failed: [TradeFailure])

    public var isSuccess: Bool {
        if case .rejected = self { return false }
        return true
    }
}

public struct TradeFailure: Equatable, Sendable {
    /// Position of the trade in its batch.
    public var index: UInt32
    public var tradeID: UInt64
    public var failure: Failure
}

/// The components hashed into a state root, beside the balance tree. A proof
/// carries them so a holder can recompute the root certified by a block header.
public struct StateRootParts: Equatable, Sendable {
    public var treeRoot: SHA256Digest
    /// Accounts and securities, ascending by id.
    public var registryRoot: SHA256Digest
    /// Signer nonces, ascending by key.
    public var nonceRoot: SHA256Digest
    /// Root of the settled-trade bitmap (64-id words as leaves of a second state
    /// tree): the root commits to exactly which ids settled, so a snapshot from a
    /// peer cannot drop one and let it settle twice.
    public var settledRoot: SHA256Digest
    public var settledCount: UInt64

    public init(treeRoot: SHA256Digest, registryRoot: SHA256Digest, nonceRoot: SHA256Digest,
                settledRoot: SHA256Digest, settledCount: UInt64) {
        self.treeRoot = treeRoot
        self.registryRoot = registryRoot
        self.nonceRoot = nonceRoot
        self.settledRoot = settledRoot
        self.settledCount = settledCount
    }

    public var stateRoot: SHA256Digest {
        var w = ByteWriter(capacity: 200)
        w.raw(Array("clearledger/state".utf8))
        w.u8(CodecLimits.version)
        w.digest(treeRoot); w.digest(registryRoot); w.digest(nonceRoot); w.digest(settledRoot); w.u64(settledCount)
        return SHA256.hash(w.bytes)
    }
}

/// A proof that one account holds `value` of one asset (0 = cash) in the state
/// whose root is `parts.stateRoot`.
public struct HoldingProof: Equatable, Sendable {
    public var account: AccountID
    public var asset: SecurityID
    public var value: Int64
    public var tree: TreeProof
    public var parts: StateRootParts

    public init(account: AccountID, asset: SecurityID, value: Int64, tree: TreeProof, parts: StateRootParts) {
        self.account = account
        self.asset = asset
        self.value = value
        self.tree = tree
        self.parts = parts
    }

    /// What a user runs: true only if the path leads from this holding to `stateRoot`.
    public func verify(stateRoot: SHA256Digest) -> Bool {
        guard tree.key == leafKey(account: account, asset: asset),
              let treeRoot = tree.treeRoot(value: value), treeRoot == parts.treeRoot else { return false }
        return parts.stateRoot == stateRoot
    }
}

/// The deterministic ledger state machine: (state, transaction, block timestamp)
/// → (state', status). No clocks, no I/O. Every transaction is validated
/// completely before the first write, so a failure leaves the state untouched.
public struct LedgerState: Sendable {
    public let authority: Authority
    public private(set) var accounts: [AccountID: Account] = [:]
    public private(set) var securities: [SecurityID: Security] = [:]
    private var symbols: [String: SecurityID] = [:]
    /// Hot-path copies without strings (no reference counting per trade).
    private var accountFlags: [AccountID: UInt8] = [:]
    private var terms: [SecurityID: Terms] = [:]
    private(set) var tree: StateTree
    private var settled = SettledTradeSet()
    public private(set) var settledCount: UInt64 = 0
    /// The settled bitmap's words as tree leaves (key: id >> 6), updated at root time.
    private var settledTree = StateTree(bucketBits: LedgerState.settledTreeBucketBits)
    private var pendingSettled: [UInt64] = []
    /// 4,096 buckets hold ~16 million settled ids at 16 words per bucket.
    static let settledTreeBucketBits = 12
    private(set) var nonces: [[UInt8]: UInt64] = [:]
    private var registryRoot = SHA256Digest.zero
    private var registryDirty = true
    private var nonceRoot = SHA256Digest.zero
    private var noncesDirty = true
    /// When true, every balance change is appended to `movements`.
    public var recordsMovements = false
    public private(set) var movements: [Movement] = []

    static let eligibleFlag: UInt8 = 1
    static let frozenFlag: UInt8 = 2

    struct Terms {
        var cashPerTick: Int64
        var lotSize: Int64
        var restriction: UInt8 // 0 none, 1 eligible-only, 2 lock-up
        var lockUntil: Int64
        var halted: Bool

        init(_ s: Security) {
            cashPerTick = s.cashPerTick
            lotSize = s.lotSize
            halted = s.halted
            switch s.restriction {
            case .none: restriction = 0; lockUntil = 0
            case .eligibleHoldersOnly: restriction = 1; lockUntil = 0
            case let .lockUp(until): restriction = 2; lockUntil = until
            }
        }
    }

    public init(authority: Authority, stateTreeBucketBits: Int = StateTree.defaultBucketBits) {
        self.authority = authority
        self.tree = StateTree(bucketBits: stateTreeBucketBits)
    }

    // MARK: Reading

    public func holding(_ account: AccountID, _ security: SecurityID) -> Int64 {
        tree.get(leafKey(account: account, asset: security))
    }

    public func cash(_ account: AccountID) -> Int64 { tree.get(leafKey(account: account, asset: 0)) }

    public func isSettled(tradeID: UInt64) -> Bool { settled.contains(tradeID) }

    public func nonce(of signer: [UInt8]) -> UInt64 { nonces[signer] ?? 0 }

    public var leafCount: Int { tree.leafCount }
    public var stateTreeBucketBits: Int { tree.bucketBits }

    /// Every non-zero holding and cash balance, ascending by (account, asset).
    public func balances() -> [(account: AccountID, asset: SecurityID, value: Int64)] {
        tree.sortedLeaves().map { (AccountID(truncatingIfNeeded: $0.key >> 32), SecurityID(truncatingIfNeeded: $0.key), $0.value) }
    }

    /// Sum of every cash balance; changes only by deposit and withdraw.
    public var totalCash: Int64 {
        var total: Int64 = 0
        tree.forEachLeaf { if UInt32(truncatingIfNeeded: $0.key) == 0 { total &+= $0.value } }
        return total
    }

    /// The ledger's invariants, checked from scratch (an audit, O(state)): issued =
    /// Σ holdings per security, no negative balance, every balance belongs to a
    /// known account and asset. Empty when all hold.
    public func invariantViolations() -> [String] {
        var problems: [String] = []
        var sums: [SecurityID: Int64] = [:]
        tree.forEachLeaf { leaf in
            let (key, value) = (leaf.key, leaf.value)
            let account = AccountID(truncatingIfNeeded: key >> 32)
            let asset = SecurityID(truncatingIfNeeded: key)
            if value <= 0 { problems.append("balance account=\(account) asset=\(asset) is \(value)") }
            if accounts[account] == nil { problems.append("balance of unknown account \(account)") }
            if asset != 0 {
                if securities[asset] == nil { problems.append("holding of unknown security \(asset)") }
                sums[asset, default: 0] &+= value
            }
        }
        for id in securities.keys.sorted() {
            guard let security = securities[id] else { continue }
            let sum = sums[id] ?? 0
            if sum != security.issued { problems.append("security \(security.symbol): issued \(security.issued) but holdings sum to \(sum)") }
            if security.issued > security.authorized { problems.append("security \(security.symbol): issued \(security.issued) > authorized \(security.authorized)") }
        }
        if UInt64(settled.count) != settledCount { problems.append("settled ids \(settled.count) but count \(settledCount)") }
        return problems
    }

    // MARK: State root

    public mutating func rootParts() -> StateRootParts {
        if registryDirty {
            var w = ByteWriter(capacity: 64 * (accounts.count + securities.count) + 64)
            w.raw(Array("clearledger/registry".utf8))
            w.count(accounts.count)
            for id in accounts.keys.sorted() { accounts[id]?.encode(into: &w) }
            w.count(securities.count)
            for id in securities.keys.sorted() { securities[id]?.encode(into: &w) }
            registryRoot = SHA256.hash(w.bytes)
            registryDirty = false
        }
        if noncesDirty {
            var w = ByteWriter(capacity: 40 * nonces.count + 32)
            w.raw(Array("clearledger/nonces".utf8))
            for key in nonces.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                w.raw(key); w.u64(nonces[key] ?? 0)
            }
            nonceRoot = SHA256.hash(w.bytes)
            noncesDirty = false
        }
        if !pendingSettled.isEmpty {
            var last: UInt64?
            for id in pendingSettled where id >> 6 != last {
                last = id >> 6
                settledTree.set(id >> 6, Int64(bitPattern: settled.word(id >> 6)))
            }
            pendingSettled.removeAll(keepingCapacity: true)
        }
        return StateRootParts(treeRoot: tree.root(), registryRoot: registryRoot, nonceRoot: nonceRoot,
                              settledRoot: settledTree.root(), settledCount: settledCount)
    }

    /// The root every member computes identically; cost follows what changed.
    public mutating func stateRoot() -> SHA256Digest { rootParts().stateRoot }

    public mutating func proof(account: AccountID, asset: SecurityID) -> HoldingProof {
        let parts = rootParts()
        let key = leafKey(account: account, asset: asset)
        return HoldingProof(account: account, asset: asset, value: tree.get(key), tree: tree.proof(for: key), parts: parts)
    }

    /// Returns the recorded movements and clears the list.
    public mutating func takeMovements() -> [Movement] {
        defer { movements.removeAll(keepingCapacity: true) }
        return movements
    }

    /// Every balance write goes through here, so the journal cannot miss one.
    @inline(__always)
    private mutating func move(_ key: UInt64, from old: Int64, to new: Int64, _ kind: Movement.Kind, tradeID: UInt64 = 0) {
        tree.set(key, new)
        if recordsMovements && new != old {
            movements.append(Movement(account: AccountID(truncatingIfNeeded: key >> 32), asset: SecurityID(truncatingIfNeeded: key),
                                      delta: new &- old, kind: kind, tradeID: tradeID))
        }
    }

    // MARK: Applying

    /// Checks authority (known key, right role, fresh nonce, valid signature) and
    /// applies the body. One signature verification per transaction: a settle
    /// batch of thousands of trades costs one verify.
    public mutating func apply(_ tx: SignedTransaction, timestamp: Timestamp) -> TransactionStatus {
        guard let (role, key) = authority.lookup(tx.signer) else {
            return .rejected(Failure(.unknownSigner, field: "signer", value: Hex.encode(tx.signer)))
        }
        let needed: Authority.Role = tx.body.isSettlement ? .exchange : .admin
        guard role == needed else {
            return .rejected(Failure(.notAuthorized, field: "signer", value: Hex.encode(tx.signer)))
        }
        let last = nonces[tx.signer] ?? 0
        guard tx.nonce > last else {
            return .rejected(Failure(.staleNonce, field: "nonce", tx.nonce))
        }
        guard tx.signature.count == Ed25519PublicKey.signatureByteCount,
              key.isValidSignature(tx.signature, for: tx.signingBytes) else {
            return .rejected(Failure(.badSignature, field: "signature", value: Hex.encode(tx.signature.prefix(8)) + "…"))
        }
        let status = applyAuthorized(tx.body, timestamp: timestamp)
        if status.isSuccess {
            nonces[tx.signer] = tx.nonce
            noncesDirty = true
        }
        return status
    }

    /// Applies a body whose authority was already checked (genesis setup, benchmarks
    /// of the state machine alone). Same validation, same effects.
    public mutating func applyAuthorized(_ body: TransactionBody, timestamp: Timestamp) -> TransactionStatus {
        if case let .settle(_, trades) = body {
            var failed: [TradeFailure] = []
            var count = 0
            for (index, trade) in trades.enumerated() {
                if let failure = settle(trade, timestamp: timestamp) {
                    failed.append(TradeFailure(index: UInt32(index), tradeID: trade.tradeID, failure: failure))
                } else {
                    count += 1
                }
            }
            return .settled(count: count, failed: failed)
        }
        do {
            try applyAdmin(body, timestamp: timestamp)
            return .applied
        } catch {
            return .rejected(error)
        }
    }

    private func account(_ id: AccountID, _ field: String) throws(Failure) -> UInt8 {
        guard let flags = accountFlags[id] else { throw Failure(.unknownAccount, field: field, id) }
        return flags
    }

    private func activeAccount(_ id: AccountID, _ field: String) throws(Failure) {
        let flags = try account(id, field)
        guard flags & Self.frozenFlag == 0 else { throw Failure(.accountFrozen, field: field, id) }
    }

    private func security(_ id: SecurityID) throws(Failure) -> Security {
        guard let security = securities[id] else { throw Failure(.unknownSecurity, field: "security", id) }
        return security
    }

    private func positive(_ value: Int64, _ field: String) throws(Failure) {
        guard value > 0 else { throw Failure(.invalidField, field: field, value) }
    }

    private func text(_ value: String, _ field: String, max: Int = CodecLimits.maxStringBytes) throws(Failure) {
        guard !value.isEmpty, value.utf8.count <= max else { throw Failure(.invalidField, field: field, value: value) }
    }

    /// Receiving side of a restricted security.
    private func checkRestriction(_ security: Security, receiver: AccountID, timestamp: Timestamp, transfer: Bool) throws(Failure) {
        switch security.restriction {
        case .none: break
        case .eligibleHoldersOnly:
            guard (accountFlags[receiver] ?? 0) & Self.eligibleFlag != 0 else {
                throw Failure(.notEligible, field: "to", receiver)
            }
        case let .lockUp(until):
            guard !transfer || timestamp >= until else {
                throw Failure(.lockedUp, field: "security", value: "\(security.symbol) until \(until)")
            }
        }
    }

    private mutating func putSecurity(_ security: Security) {
        securities[security.id] = security
        terms[security.id] = Terms(security)
        registryDirty = true
    }

    private mutating func applyAdmin(_ body: TransactionBody, timestamp: Timestamp) throws(Failure) {
        switch body {
        case let .createAccount(account):
            guard account.id > 0 else { throw Failure(.invalidField, field: "account", account.id) }
            guard accounts[account.id] == nil else { throw Failure(.accountExists, field: "account", account.id) }
            try text(account.name, "name")
            accounts[account.id] = account
            accountFlags[account.id] = (account.eligible ? Self.eligibleFlag : 0) | (account.frozen ? Self.frozenFlag : 0)
            registryDirty = true

        case let .updateAccount(id, eligible, frozen):
            guard var account = accounts[id] else { throw Failure(.unknownAccount, field: "account", id) }
            account.eligible = eligible
            account.frozen = frozen
            accounts[id] = account
            accountFlags[id] = (eligible ? Self.eligibleFlag : 0) | (frozen ? Self.frozenFlag : 0)
            registryDirty = true

        case var .createSecurity(security):
            guard security.id > 0 else { throw Failure(.invalidField, field: "security", security.id) }
            guard securities[security.id] == nil else { throw Failure(.securityExists, field: "security", security.id) }
            try text(security.symbol, "symbol", max: 16)
            guard security.symbol.utf8.allSatisfy({ ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 45 }) else {
                throw Failure(.invalidField, field: "symbol", value: security.symbol)
            }
            guard symbols[security.symbol] == nil else { throw Failure(.symbolExists, field: "symbol", value: security.symbol) }
            try text(security.name, "name")
            try text(security.shareClass, "shareClass")
            _ = try account(security.issuer, "issuer")
            try positive(security.authorized, "authorized")
            try positive(security.cashPerTick, "cashPerTick")
            try positive(security.lotSize, "lotSize")
            security.issued = 0
            symbols[security.symbol] = security.id
            putSecurity(security)

        case let .issue(securityID, to, shares):
            var security = try security(securityID)
            try activeAccount(to, "to")
            try positive(shares, "shares")
            guard shares % security.lotSize == 0 else { throw Failure(.notLotMultiple, field: "shares", shares) }
            try checkRestriction(security, receiver: to, timestamp: timestamp, transfer: false)
            let (issued, o1) = security.issued.addingReportingOverflow(shares)
            guard !o1 else { throw Failure(.overflow, field: "shares", shares) }
            guard issued <= security.authorized else {
                throw Failure(.exceedsAuthorized, field: "shares", value: "\(shares) (issued \(security.issued), authorized \(security.authorized))")
            }
            let key = leafKey(account: to, asset: securityID)
            let old = tree.get(key)
            let (new, o2) = old.addingReportingOverflow(shares)
            guard !o2 else { throw Failure(.overflow, field: "shares", shares) }
            security.issued = issued
            putSecurity(security)
            move(key, from: old, to: new, .issue)

        case let .redeem(securityID, from, shares):
            var security = try security(securityID)
            try activeAccount(from, "from")
            try positive(shares, "shares")
            let key = leafKey(account: from, asset: securityID)
            let old = tree.get(key)
            guard old >= shares else { throw Failure(.insufficientShares, field: "shares", value: "\(shares) (holds \(old))") }
            security.issued -= shares
            putSecurity(security)
            move(key, from: old, to: old - shares, .redeem)

        case let .deposit(accountID, amount):
            try activeAccount(accountID, "account")
            try positive(amount, "amount")
            let key = leafKey(account: accountID, asset: 0)
            let old = tree.get(key)
            let (new, overflow) = old.addingReportingOverflow(amount)
            guard !overflow else { throw Failure(.overflow, field: "amount", amount) }
            move(key, from: old, to: new, .deposit)

        case let .withdraw(accountID, amount):
            try activeAccount(accountID, "account")
            try positive(amount, "amount")
            let key = leafKey(account: accountID, asset: 0)
            let old = tree.get(key)
            guard old >= amount else { throw Failure(.insufficientCash, field: "amount", value: "\(amount) (balance \(old))") }
            move(key, from: old, to: old - amount, .withdraw)

        case let .transfer(securityID, from, to, shares):
            let security = try security(securityID)
            try activeAccount(from, "from")
            try activeAccount(to, "to")
            guard from != to else { throw Failure(.sameAccount, field: "to", to) }
            try positive(shares, "shares")
            guard !security.halted else { throw Failure(.securityHalted, field: "security", value: security.symbol) }
            try checkRestriction(security, receiver: to, timestamp: timestamp, transfer: true)
            let fromKey = leafKey(account: from, asset: securityID)
            let toKey = leafKey(account: to, asset: securityID)
            let fromOld = tree.get(fromKey)
            let toOld = tree.get(toKey)
            guard fromOld >= shares else { throw Failure(.insufficientShares, field: "shares", value: "\(shares) (holds \(fromOld))") }
            let (toNew, overflow) = toOld.addingReportingOverflow(shares)
            guard !overflow else { throw Failure(.overflow, field: "shares", shares) }
            move(fromKey, from: fromOld, to: fromOld - shares, .transfer)
            move(toKey, from: toOld, to: toNew, .transfer)

        case let .split(securityID, numerator, denominator):
            var security = try security(securityID)
            try positive(numerator, "numerator")
            try positive(denominator, "denominator")
            // Floor per holding; `issued` becomes the sum of the new holdings, so
            // issued = Σ holdings stays exact and the fractional remainders vanish.
            func scaled(_ value: Int64, _ field: String) throws(Failure) -> Int64 {
                let (product, overflow) = value.multipliedReportingOverflow(by: numerator)
                guard !overflow else { throw Failure(.overflow, field: field, value) }
                return product / denominator
            }
            let authorized = try scaled(security.authorized, "authorized")
            guard authorized > 0 else { throw Failure(.invalidField, field: "authorized", authorized) }
            var updates: [(key: UInt64, old: Int64, new: Int64)] = []
            var issued: Int64 = 0
            for key in tree.keys(ofAsset: securityID).sorted() {
                let old = tree.get(key)
                let new = try scaled(old, "holding")
                updates.append((key, old, new))
                issued += new // Σ new ≤ issued × N / M ≤ authorized × N / M, which fit above
            }
            guard issued <= authorized else {
                throw Failure(.exceedsAuthorized, field: "authorized", authorized)
            }
            security.authorized = authorized
            security.issued = issued
            putSecurity(security)
            for update in updates { move(update.key, from: update.old, to: update.new, .split) }

        case let .halt(securityID):
            var security = try security(securityID)
            guard !security.halted else { throw Failure(.alreadyHalted, field: "security", value: security.symbol) }
            security.halted = true
            putSecurity(security)

        case let .resume(securityID):
            var security = try security(securityID)
            guard security.halted else { throw Failure(.notHalted, field: "security", value: security.symbol) }
            security.halted = false
            putSecurity(security)

        case .settle:
            preconditionFailure("settle is handled by applyAuthorized")
        }
    }

    /// One trade, delivery versus payment: every check first, then the four writes.
    @inline(__always)
    private mutating func settle(_ t: Trade, timestamp: Timestamp) -> Failure? {
        guard t.shares > 0 else { return Failure(.invalidField, field: "shares", t.shares) }
        guard t.price > 0 else { return Failure(.invalidField, field: "price", t.price) }
        guard t.buyer != t.seller else { return Failure(.sameAccount, field: "buyer", t.buyer) }
        guard !settled.contains(t.tradeID) else { return Failure(.alreadySettled, field: "tradeID", t.tradeID) }
        guard let terms = terms[t.security] else { return Failure(.unknownSecurity, field: "security", t.security) }
        guard !terms.halted else { return Failure(.securityHalted, field: "security", t.security) }
        guard t.shares % terms.lotSize == 0 else { return Failure(.notLotMultiple, field: "shares", t.shares) }
        guard let buyerFlags = accountFlags[t.buyer] else { return Failure(.unknownAccount, field: "buyer", t.buyer) }
        guard let sellerFlags = accountFlags[t.seller] else { return Failure(.unknownAccount, field: "seller", t.seller) }
        guard buyerFlags & Self.frozenFlag == 0 else { return Failure(.accountFrozen, field: "buyer", t.buyer) }
        guard sellerFlags & Self.frozenFlag == 0 else { return Failure(.accountFrozen, field: "seller", t.seller) }
        if terms.restriction == 1, buyerFlags & Self.eligibleFlag == 0 {
            return Failure(.notEligible, field: "buyer", t.buyer)
        }
        if terms.restriction == 2, timestamp < terms.lockUntil {
            return Failure(.lockedUp, field: "security", t.security)
        }
        let (notional, o1) = t.shares.multipliedReportingOverflow(by: t.price)
        let (amount, o2) = notional.multipliedReportingOverflow(by: terms.cashPerTick)
        guard !o1, !o2 else { return Failure(.overflow, field: "price", t.price) }
        let sellerShareKey = leafKey(account: t.seller, asset: t.security)
        let buyerShareKey = leafKey(account: t.buyer, asset: t.security)
        let buyerCashKey = leafKey(account: t.buyer, asset: 0)
        let sellerCashKey = leafKey(account: t.seller, asset: 0)
        let sellerShares = tree.get(sellerShareKey)
        guard sellerShares >= t.shares else { return Failure(.insufficientShares, field: "seller", t.seller) }
        let buyerCash = tree.get(buyerCashKey)
        guard buyerCash >= amount else { return Failure(.insufficientCash, field: "buyer", t.buyer) }
        let buyerShares = tree.get(buyerShareKey)
        let sellerCash = tree.get(sellerCashKey)
        let (newBuyerShares, o3) = buyerShares.addingReportingOverflow(t.shares)
        let (newSellerCash, o4) = sellerCash.addingReportingOverflow(amount)
        guard !o3, !o4 else { return Failure(.overflow, field: "tradeID", t.tradeID) }
        move(sellerShareKey, from: sellerShares, to: sellerShares - t.shares, .trade, tradeID: t.tradeID)
        move(buyerShareKey, from: buyerShares, to: newBuyerShares, .trade, tradeID: t.tradeID)
        move(buyerCashKey, from: buyerCash, to: buyerCash - amount, .trade, tradeID: t.tradeID)
        move(sellerCashKey, from: sellerCash, to: newSellerCash, .trade, tradeID: t.tradeID)
        settled.insert(t.tradeID)
        pendingSettled.append(t.tradeID)
        settledCount += 1
        return nil
    }

    // MARK: Snapshot

    /// Canonical snapshot: registry, nonces, balances and settled ids, all sorted.
    public mutating func encodeSnapshot(into w: inout ByteWriter) {
        _ = rootParts()
        w.u8(UInt8(tree.bucketBits))
        w.count(accounts.count)
        for id in accounts.keys.sorted() { accounts[id]?.encode(into: &w) }
        w.count(securities.count)
        for id in securities.keys.sorted() { securities[id]?.encode(into: &w) }
        let nonceKeys = nonces.keys.sorted(by: { $0.lexicographicallyPrecedes($1) })
        w.count(nonceKeys.count)
        for key in nonceKeys { w.raw(key); w.u64(nonces[key] ?? 0) }
        let leaves = tree.sortedLeaves()
        w.count(leaves.count)
        for leaf in leaves { w.u64(leaf.key); w.i64(leaf.value) }
        let words = settled.sortedWords()
        w.count(words.count)
        for word in words { w.u64(word.index); w.u64(word.bits) }
        w.u64(settledCount)
    }

    public static func decodeSnapshot(from r: inout ByteReader, authority: Authority) throws(DecodeError) -> LedgerState {
        let bits = Int(try r.u8("snapshot.stateTreeBucketBits"))
        guard StateTree.isValid(bucketBits: bits) else {
            throw DecodeError(field: "snapshot.stateTreeBucketBits", reason: "\(bits) is not 8, 12, 16 or 20")
        }
        var state = LedgerState(authority: authority, stateTreeBucketBits: bits)
        let accountCount = try r.count("snapshot.accounts", max: Int(UInt32.max), minimumElementBytes: 12)
        for _ in 0..<accountCount {
            let account = try Account.decode(from: &r)
            guard state.accounts[account.id] == nil else { throw DecodeError(field: "snapshot.accounts", reason: "duplicate account \(account.id)") }
            state.accounts[account.id] = account
            state.accountFlags[account.id] = (account.eligible ? eligibleFlag : 0) | (account.frozen ? frozenFlag : 0)
        }
        let securityCount = try r.count("snapshot.securities", max: Int(UInt32.max), minimumElementBytes: 50)
        for _ in 0..<securityCount {
            let security = try Security.decode(from: &r)
            guard state.securities[security.id] == nil, state.symbols[security.symbol] == nil else {
                throw DecodeError(field: "snapshot.securities", reason: "duplicate security \(security.id) \(security.symbol)")
            }
            // Terms the hot path divides by or multiplies with must be sane even
            // if the snapshot came from a peer rather than our own disk.
            guard security.id > 0, security.lotSize > 0, security.cashPerTick > 0, security.authorized > 0,
                  security.issued >= 0, security.issued <= security.authorized else {
                throw DecodeError(field: "snapshot.securities", reason: "security \(security.id) has invalid terms")
            }
            state.symbols[security.symbol] = security.id
            state.putSecurity(security)
        }
        let nonceCount = try r.count("snapshot.nonces", max: 4096, minimumElementBytes: 40)
        for _ in 0..<nonceCount {
            let key = try r.raw(32, "snapshot.nonce.key")
            state.nonces[key] = try r.u64("snapshot.nonce.value")
        }
        let leafCount = try r.count("snapshot.leaves", max: Int(UInt32.max), minimumElementBytes: 16)
        var previous: UInt64?
        for _ in 0..<leafCount {
            let key = try r.u64("snapshot.leaf.key")
            let value = try r.i64("snapshot.leaf.value")
            if let previous, key <= previous { throw DecodeError(field: "snapshot.leaf.key", reason: "keys not ascending at \(key)") }
            guard value > 0 else { throw DecodeError(field: "snapshot.leaf.value", reason: "non-positive balance \(value) at key \(key)") }
            state.tree.set(key, value)
            previous = key
        }
        let settledWords = try r.count("snapshot.settled", max: Int(UInt32.max), minimumElementBytes: 16)
        var previousWord: UInt64?
        for _ in 0..<settledWords {
            let index = try r.u64("snapshot.settled.index")
            let bits = try r.u64("snapshot.settled.bits")
            if let previousWord, index <= previousWord { throw DecodeError(field: "snapshot.settled.index", reason: "not ascending at \(index)") }
            guard state.settled.load(index: index, bits: bits) else {
                throw DecodeError(field: "snapshot.settled", reason: "invalid word \(index)=\(bits)")
            }
            state.settledTree.set(index, Int64(bitPattern: bits))
            previousWord = index
        }
        state.settledCount = try r.u64("snapshot.settledCount")
        if let problem = state.invariantViolations().first {
            throw DecodeError(field: "snapshot", reason: "violates an invariant: \(problem)")
        }
        return state
    }
}
