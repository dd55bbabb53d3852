/// One balance change: the journal a transfer agent keeps. The block store holds
/// every transaction and receipt, so the journal is derived by replaying with
/// recording on (`LedgerState.recordsMovements`) rather than stored twice; the
/// hot path pays one branch when recording is off.
public struct Movement: Equatable, Sendable {
    public enum Kind: UInt8, Sendable, CustomStringConvertible {
        case issue, redeem, deposit, withdraw, transfer, split, trade

        public var description: String {
            switch self {
            case .issue: return "issue"
            case .redeem: return "redeem"
            case .deposit: return "deposit"
            case .withdraw: return "withdraw"
            case .transfer: return "transfer"
            case .split: return "split"
            case .trade: return "trade"
            }
        }
    }

    public var account: AccountID
    /// Security id, or 0 for cash.
    public var asset: SecurityID
    public var delta: Int64
    public var kind: Kind
    /// The trade id for trades, 0 otherwise.
    public var tradeID: UInt64

    public init(account: AccountID, asset: SecurityID, delta: Int64, kind: Kind, tradeID: UInt64 = 0) {
        self.account = account
        self.asset = asset
        self.delta = delta
        self.kind = kind
        self.tradeID = tradeID
    }
}
