import Cryptography

/// One match from the exchange, settled delivery versus payment: the buyer pays
/// `shares × price × cashPerTick` minor units and receives `shares`.
public struct Trade: Equatable, Sendable {
    public var tradeID: UInt64
    public var buyer: AccountID
    public var seller: AccountID
    public var security: SecurityID
    public var shares: Int64
    /// Integer ticks.
    public var price: Int64
    public var buyOrderID: UInt64
    public var sellOrderID: UInt64
    public var matchTime: Timestamp

    public init(tradeID: UInt64, buyer: AccountID, seller: AccountID, security: SecurityID, shares: Int64, price: Int64,
                buyOrderID: UInt64 = 0, sellOrderID: UInt64 = 0, matchTime: Timestamp = 0) {
        self.tradeID = tradeID
        self.buyer = buyer
        self.seller = seller
        self.security = security
        self.shares = shares
        self.price = price
        self.buyOrderID = buyOrderID
        self.sellOrderID = sellOrderID
        self.matchTime = matchTime
    }

    static let encodedBytes = 60
}

/// Every state change the ledger knows. Admin kinds need an admin key; `settle`
/// needs the exchange key.
public enum TransactionBody: Equatable, Sendable {
    case createAccount(Account)
    case updateAccount(id: AccountID, eligible: Bool, frozen: Bool)
    /// `issued` in the given security is ignored: a new security starts at 0.
    case createSecurity(Security)
    case issue(security: SecurityID, to: AccountID, shares: Int64)
    case redeem(security: SecurityID, from: AccountID, shares: Int64)
    case deposit(account: AccountID, amount: Int64)
    case withdraw(account: AccountID, amount: Int64)
    case transfer(security: SecurityID, from: AccountID, to: AccountID, shares: Int64)
    /// N-for-M split: every holding h becomes floor(h × N / M).
    case split(security: SecurityID, numerator: Int64, denominator: Int64)
    case halt(security: SecurityID)
    case resume(security: SecurityID)
    case settle(batchID: UInt64, trades: [Trade])

    public var kindName: String {
        switch self {
        case .createAccount: return "create-account"
        case .updateAccount: return "update-account"
        case .createSecurity: return "create-security"
        case .issue: return "issue"
        case .redeem: return "redeem"
        case .deposit: return "deposit"
        case .withdraw: return "withdraw"
        case .transfer: return "transfer"
        case .split: return "split"
        case .halt: return "halt"
        case .resume: return "resume"
        case .settle: return "settle"
        }
    }

    public var isSettlement: Bool {
        if case .settle = self { return true }
        return false
    }

    func encode(into w: inout ByteWriter) {
        switch self {
        case let .createAccount(account):
            w.u8(1); account.encode(into: &w)
        case let .updateAccount(id, eligible, frozen):
            w.u8(2); w.u32(id); w.bool(eligible); w.bool(frozen)
        case let .createSecurity(security):
            w.u8(3); security.encode(into: &w)
        case let .issue(security, to, shares):
            w.u8(4); w.u32(security); w.u32(to); w.i64(shares)
        case let .redeem(security, from, shares):
            w.u8(5); w.u32(security); w.u32(from); w.i64(shares)
        case let .deposit(account, amount):
            w.u8(6); w.u32(account); w.i64(amount)
        case let .withdraw(account, amount):
            w.u8(7); w.u32(account); w.i64(amount)
        case let .transfer(security, from, to, shares):
            w.u8(8); w.u32(security); w.u32(from); w.u32(to); w.i64(shares)
        case let .split(security, numerator, denominator):
            w.u8(9); w.u32(security); w.i64(numerator); w.i64(denominator)
        case let .halt(security):
            w.u8(10); w.u32(security)
        case let .resume(security):
            w.u8(11); w.u32(security)
        case let .settle(batchID, trades):
            w.u8(12); w.u64(batchID); w.count(trades.count)
            w.fixed(trades.count * Trade.encodedBytes) { raw in
                var o = 0
                for t in trades {
                    raw.storeBytes(of: t.tradeID.bigEndian, toByteOffset: o, as: UInt64.self)
                    raw.storeBytes(of: t.buyer.bigEndian, toByteOffset: o + 8, as: UInt32.self)
                    raw.storeBytes(of: t.seller.bigEndian, toByteOffset: o + 12, as: UInt32.self)
                    raw.storeBytes(of: t.security.bigEndian, toByteOffset: o + 16, as: UInt32.self)
                    raw.storeBytes(of: t.shares.bigEndian, toByteOffset: o + 20, as: Int64.self)
                    raw.storeBytes(of: t.price.bigEndian, toByteOffset: o + 28, as: Int64.self)
                    raw.storeBytes(of: t.buyOrderID.bigEndian, toByteOffset: o + 36, as: UInt64.self)
                    raw.storeBytes(of: t.sellOrderID.bigEndian, toByteOffset: o + 44, as: UInt64.self)
                    raw.storeBytes(of: t.matchTime.bigEndian, toByteOffset: o + 52, as: Int64.self)
                    o += Trade.encodedBytes
                }
            }
        }
    }

    static func decode(from r: inout ByteReader) throws(DecodeError) -> TransactionBody {
        let tag = try r.u8("transaction.kind")
        switch tag {
        case 1: return .createAccount(try Account.decode(from: &r))
        case 2: return .updateAccount(id: try r.u32("account"), eligible: try r.bool("eligible"), frozen: try r.bool("frozen"))
        case 3: return .createSecurity(try Security.decode(from: &r))
        case 4: return .issue(security: try r.u32("security"), to: try r.u32("to"), shares: try r.i64("shares"))
        case 5: return .redeem(security: try r.u32("security"), from: try r.u32("from"), shares: try r.i64("shares"))
        case 6: return .deposit(account: try r.u32("account"), amount: try r.i64("amount"))
        case 7: return .withdraw(account: try r.u32("account"), amount: try r.i64("amount"))
        case 8: return .transfer(security: try r.u32("security"), from: try r.u32("from"), to: try r.u32("to"), shares: try r.i64("shares"))
        case 9: return .split(security: try r.u32("security"), numerator: try r.i64("numerator"), denominator: try r.i64("denominator"))
        case 10: return .halt(security: try r.u32("security"))
        case 11: return .resume(security: try r.u32("security"))
        case 12:
            let batchID = try r.u64("settle.batchID")
            let count = try r.count("settle.trades", max: CodecLimits.maxTradesPerBatch, minimumElementBytes: Trade.encodedBytes)
            var trades: [Trade] = []
            trades.reserveCapacity(count)
            for _ in 0..<count {
                trades.append(Trade(tradeID: try r.u64("trade.id"), buyer: try r.u32("trade.buyer"), seller: try r.u32("trade.seller"),
                                    security: try r.u32("trade.security"), shares: try r.i64("trade.shares"), price: try r.i64("trade.price"),
                                    buyOrderID: try r.u64("trade.buyOrderID"), sellOrderID: try r.u64("trade.sellOrderID"),
                                    matchTime: try r.i64("trade.matchTime")))
            }
            return .settle(batchID: batchID, trades: trades)
        default:
            throw DecodeError(field: "transaction.kind", reason: "unknown kind \(tag)")
        }
    }
}

/// A transaction body with its signer, a per-signer nonce (replay protection: a
/// nonce must exceed the signer's last accepted one) and an Ed25519 signature over
/// `signingBytes`.
public struct SignedTransaction: Equatable, Sendable {
    public var nonce: UInt64
    public var signer: [UInt8]
    public var body: TransactionBody
    public var signature: [UInt8]

    public init(nonce: UInt64, signer: [UInt8], body: TransactionBody, signature: [UInt8]) {
        self.nonce = nonce
        self.signer = signer
        self.body = body
        self.signature = signature
    }

    /// Builds and signs: the signature covers a domain tag, the version, nonce,
    /// signer and body, so it cannot be lifted onto another kind of message.
    public init(body: TransactionBody, nonce: UInt64, key: Ed25519PrivateKey) throws(CryptographyError) {
        self.nonce = nonce
        self.signer = key.publicKey.rawRepresentation
        self.body = body
        self.signature = []
        self.signature = try key.signature(for: signingBytes)
    }

    static let domain: [UInt8] = Array("clearledger/tx".utf8)

    public var signingBytes: [UInt8] {
        var trades = 0
        if case let .settle(_, list) = body { trades = list.count }
        var w = ByteWriter(capacity: 160 + Trade.encodedBytes * trades)
        w.raw(Self.domain)
        w.u8(CodecLimits.version)
        w.u64(nonce)
        w.raw(signer)
        body.encode(into: &w)
        return w.bytes
    }

    public func encode(into w: inout ByteWriter) {
        w.u8(CodecLimits.version)
        w.u64(nonce)
        w.raw(signer.count == 32 ? signer : [UInt8](repeating: 0, count: 32))
        w.raw(signature.count == 64 ? signature : [UInt8](repeating: 0, count: 64))
        body.encode(into: &w)
    }

    public var encoded: [UInt8] {
        var w = ByteWriter(capacity: 128)
        encode(into: &w)
        return w.bytes
    }

    public static func decode(from r: inout ByteReader) throws(DecodeError) -> SignedTransaction {
        try r.version("transaction.version")
        let nonce = try r.u64("transaction.nonce")
        let signer = try r.raw(32, "transaction.signer")
        let signature = try r.raw(64, "transaction.signature")
        let body = try TransactionBody.decode(from: &r)
        return SignedTransaction(nonce: nonce, signer: signer, body: body, signature: signature)
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> SignedTransaction {
        var r = ByteReader(bytes)
        let tx = try decode(from: &r)
        try r.expectEnd("transaction")
        return tx
    }

    /// Why this transaction cannot be encoded faithfully (a string over the limit,
    /// a signer or signature of the wrong size), or nil. A block must only carry
    /// transactions whose bytes decode back to exactly them, or a member executing
    /// the objects and one executing the decoded bytes would diverge.
    public var encodingProblem: String? {
        if signer.count != 32 { return "signer: \(signer.count) bytes, expected 32" }
        if signature.count != 64 { return "signature: \(signature.count) bytes, expected 64" }
        func check(_ value: String, _ field: String) -> String? {
            value.utf8.count > CodecLimits.maxStringBytes
                ? "\(field): \(value.utf8.count) bytes exceeds the limit \(CodecLimits.maxStringBytes)" : nil
        }
        switch body {
        case let .createAccount(account):
            return check(account.name, "name")
        case let .createSecurity(security):
            return check(security.symbol, "symbol") ?? check(security.name, "name") ?? check(security.shareClass, "shareClass")
        case let .settle(_, trades):
            return trades.count > CodecLimits.maxTradesPerBatch
                ? "trades: \(trades.count) exceeds the limit \(CodecLimits.maxTradesPerBatch)" : nil
        default:
            return nil
        }
    }

    /// Minimum encoded size, used to bound counts of transactions.
    static let minimumEncodedBytes = 1 + 8 + 32 + 64 + 1
}
