public enum FIXSide: String, Sendable, Equatable {
    case buy = "1"
    case sell = "2"
}

public enum FIXOrdType: String, Sendable, Equatable {
    case market = "1"
    case limit = "2"
}

/// TimeInForce (59); absent means Day, as FIX defines.
public enum FIXTimeInForce: String, Sendable, Equatable {
    case day = "0"
    case goodTillCancel = "1"
    case immediateOrCancel = "3"
    case fillOrKill = "4"
}

public enum FIXExecType: String, Sendable, Equatable {
    case new = "0"
    case canceled = "4"
    case replaced = "5"
    case rejected = "8"
    case expired = "C"
    case trade = "F"
    /// Used for the clearing confirmation: informational, so stock engines do
    /// not count it as a second fill.
    case orderStatus = "I"
}

public enum FIXOrdStatus: String, Sendable, Equatable {
    case new = "0"
    case partiallyFilled = "1"
    case filled = "2"
    case canceled = "4"
    case replaced = "5"
    case rejected = "8"
    case expired = "C"
}

extension FIXSide {
    @inline(__always) init?(fixChar c: UInt8) {
        switch c {
        case UInt8(ascii: "1"): self = .buy
        case UInt8(ascii: "2"): self = .sell
        default: return nil
        }
    }
}

extension FIXOrdType {
    @inline(__always) init?(fixChar c: UInt8) {
        switch c {
        case UInt8(ascii: "1"): self = .market
        case UInt8(ascii: "2"): self = .limit
        default: return nil
        }
    }
}

extension FIXTimeInForce {
    @inline(__always) init?(fixChar c: UInt8) {
        switch c {
        case UInt8(ascii: "0"): self = .day
        case UInt8(ascii: "1"): self = .goodTillCancel
        case UInt8(ascii: "3"): self = .immediateOrCancel
        case UInt8(ascii: "4"): self = .fillOrKill
        default: return nil
        }
    }
}

extension FIXMessage {
    /// A one-character enumeration read from the byte, without making a
    /// String: Side, OrdType and TimeInForce are read on every order.
    func charEnumeration<T>(_ tag: Int, _ parse: (UInt8) -> T?) throws(FIXFieldError) -> T? {
        guard let v = value(tag) else { return nil }
        if v.count == 1, let first = v.first, let e = parse(first) { return e }
        throw FIXFieldError(tag: tag, value: String(decoding: v, as: UTF8.self), problem: .badValue)
    }

    func requiredCharEnumeration<T>(_ tag: Int, _ parse: (UInt8) -> T?) throws(FIXFieldError) -> T {
        guard let e = try charEnumeration(tag, parse) else { throw FIXFieldError(tag: tag, value: nil, problem: .missing) }
        return e
    }

    /// Qty fields are FIX floats; shares are whole, so "100" and "100.0" are
    /// 100 and "100.5" is an error, never truncated.
    func quantity(_ tag: Int) throws(FIXFieldError) -> Int64? {
        guard let v = value(tag) else { return nil }
        do {
            let q = try FIXPrice.ticks(v, format: FIXPriceFormat(scale: 0, tickSize: 1))
            return q
        } catch {
            throw FIXFieldError(tag: tag, value: String(decoding: v, as: UTF8.self), problem: .badValue, detail: error.description)
        }
    }

    func requiredQuantity(_ tag: Int) throws(FIXFieldError) -> Int64 {
        guard let q = try quantity(tag) else { throw FIXFieldError(tag: tag, value: nil, problem: .missing) }
        return q
    }

    func decimal(_ tag: Int) throws(FIXFieldError) -> FIXDecimal? {
        guard let v = value(tag) else { return nil }
        guard let d = FIXDecimal(parsing: v) else {
            throw FIXFieldError(tag: tag, value: String(decoding: v, as: UTF8.self), problem: .badFormat)
        }
        return d
    }
}

/// A price as it came on the wire: converting it to ticks needs the
/// security's price format, which only the exchange knows.
public struct FIXWirePrice: Sendable, Equatable {
    public let tag: Int
    public let text: String

    /// Exact ticks, or an error naming the tag (to be answered with an
    /// ExecutionReport 150=8 or a Reject, the gateway's choice).
    public func ticks(_ format: FIXPriceFormat) throws(FIXFieldError) -> Int64 {
        do {
            return try FIXPrice.ticks(text, format: format)
        } catch {
            throw FIXFieldError(tag: tag, value: text, problem: .badValue, detail: error.description)
        }
    }
}

/// NewOrderSingle (D). ExecInst (18) containing '6' (participate, don't
/// initiate) marks the order post-only.
public struct NewOrderSingle: FIXMessageView, Equatable {
    public static let msgType = FIXMsgType.newOrderSingle
    public var clOrdID: String
    public var account: String?
    public var symbol: String
    public var side: FIXSide
    public var orderQty: Int64
    public var ordType: FIXOrdType
    public var price: FIXWirePrice?
    public var timeInForce: FIXTimeInForce
    public var transactTime: Int64
    public var postOnly: Bool

    public init(clOrdID: String, account: String?, symbol: String, side: FIXSide, orderQty: Int64, ordType: FIXOrdType, price: String?, timeInForce: FIXTimeInForce = .day, transactTime: Int64, postOnly: Bool = false) {
        self.clOrdID = clOrdID
        self.account = account
        self.symbol = symbol
        self.side = side
        self.orderQty = orderQty
        self.ordType = ordType
        self.price = price.map { FIXWirePrice(tag: FIXTag.price, text: $0) }
        self.timeInForce = timeInForce
        self.transactTime = transactTime
        self.postOnly = postOnly
    }

    public init(parsing m: FIXMessage) throws(FIXFieldError) {
        clOrdID = try m.requiredString(FIXTag.clOrdID)
        account = m.string(FIXTag.account)
        symbol = try m.requiredString(FIXTag.symbol)
        side = try m.requiredCharEnumeration(FIXTag.side, FIXSide.init(fixChar:))
        orderQty = try m.requiredQuantity(FIXTag.orderQty)
        ordType = try m.requiredCharEnumeration(FIXTag.ordType, FIXOrdType.init(fixChar:))
        price = m.string(FIXTag.price).map { FIXWirePrice(tag: FIXTag.price, text: $0) }
        if ordType == .limit && price == nil { throw FIXFieldError(tag: FIXTag.price, value: nil, problem: .missing) }
        timeInForce = try m.charEnumeration(FIXTag.timeInForce, FIXTimeInForce.init(fixChar:)) ?? .day
        guard let t = try m.timestamp(FIXTag.transactTime) else {
            throw FIXFieldError(tag: FIXTag.transactTime, value: nil, problem: .missing)
        }
        transactTime = t
        // ExecInst is a space-separated list of one-character values.
        if let inst = m.value(FIXTag.execInst) {
            postOnly = inst.split(separator: UInt8(ascii: " ")).contains { $0.count == 1 && $0.first == UInt8(ascii: "6") }
        } else {
            postOnly = false
        }
    }

    public func body() -> FIXBody {
        var b = FIXBody(Self.msgType)
        b.append(FIXTag.clOrdID, clOrdID)
        b.append(FIXTag.account, account)
        b.append(FIXTag.symbol, symbol)
        b.append(FIXTag.side, side.rawValue)
        b.append(FIXTag.orderQty, int: Int(orderQty))
        b.append(FIXTag.ordType, ordType.rawValue)
        b.append(FIXTag.price, price?.text)
        b.append(FIXTag.timeInForce, timeInForce.rawValue)
        b.append(FIXTag.transactTime, timestamp: transactTime)
        if postOnly { b.append(FIXTag.execInst, "6") }
        return b
    }
}

public struct OrderCancelRequest: FIXMessageView, Equatable {
    public static let msgType = FIXMsgType.orderCancelRequest
    public var origClOrdID: String
    public var clOrdID: String
    public var account: String?
    public var symbol: String
    public var side: FIXSide
    public var orderQty: Int64?
    public var transactTime: Int64?

    public init(origClOrdID: String, clOrdID: String, account: String? = nil, symbol: String, side: FIXSide, orderQty: Int64? = nil, transactTime: Int64? = nil) {
        self.origClOrdID = origClOrdID
        self.clOrdID = clOrdID
        self.account = account
        self.symbol = symbol
        self.side = side
        self.orderQty = orderQty
        self.transactTime = transactTime
    }

    public init(parsing m: FIXMessage) throws(FIXFieldError) {
        origClOrdID = try m.requiredString(FIXTag.origClOrdID)
        clOrdID = try m.requiredString(FIXTag.clOrdID)
        account = m.string(FIXTag.account)
        symbol = try m.requiredString(FIXTag.symbol)
        side = try m.requiredEnumeration(FIXTag.side, FIXSide.init(rawValue:))
        orderQty = try m.quantity(FIXTag.orderQty)
        transactTime = try m.timestamp(FIXTag.transactTime)
    }

    public func body() -> FIXBody {
        var b = FIXBody(Self.msgType)
        b.append(FIXTag.origClOrdID, origClOrdID)
        b.append(FIXTag.clOrdID, clOrdID)
        b.append(FIXTag.account, account)
        b.append(FIXTag.symbol, symbol)
        b.append(FIXTag.side, side.rawValue)
        b.append(FIXTag.orderQty, int: orderQty.map { Int($0) })
        if let transactTime { b.append(FIXTag.transactTime, timestamp: transactTime) }
        return b
    }
}

/// OrderCancelReplaceRequest (G): new Price and OrderQty for a resting order.
public struct OrderCancelReplaceRequest: FIXMessageView, Equatable {
    public static let msgType = FIXMsgType.orderCancelReplaceRequest
    public var origClOrdID: String
    public var clOrdID: String
    public var account: String?
    public var symbol: String
    public var side: FIXSide
    public var orderQty: Int64
    public var ordType: FIXOrdType
    public var price: FIXWirePrice?
    public var timeInForce: FIXTimeInForce?
    public var transactTime: Int64?

    public init(origClOrdID: String, clOrdID: String, account: String? = nil, symbol: String, side: FIXSide, orderQty: Int64, ordType: FIXOrdType = .limit, price: String?, timeInForce: FIXTimeInForce? = nil, transactTime: Int64? = nil) {
        self.origClOrdID = origClOrdID
        self.clOrdID = clOrdID
        self.account = account
        self.symbol = symbol
        self.side = side
        self.orderQty = orderQty
        self.ordType = ordType
        self.price = price.map { FIXWirePrice(tag: FIXTag.price, text: $0) }
        self.timeInForce = timeInForce
        self.transactTime = transactTime
    }

    public init(parsing m: FIXMessage) throws(FIXFieldError) {
        origClOrdID = try m.requiredString(FIXTag.origClOrdID)
        clOrdID = try m.requiredString(FIXTag.clOrdID)
        account = m.string(FIXTag.account)
        symbol = try m.requiredString(FIXTag.symbol)
        side = try m.requiredEnumeration(FIXTag.side, FIXSide.init(rawValue:))
        orderQty = try m.requiredQuantity(FIXTag.orderQty)
        ordType = try m.requiredEnumeration(FIXTag.ordType, FIXOrdType.init(rawValue:))
        price = m.string(FIXTag.price).map { FIXWirePrice(tag: FIXTag.price, text: $0) }
        if ordType == .limit && price == nil { throw FIXFieldError(tag: FIXTag.price, value: nil, problem: .missing) }
        timeInForce = try m.enumeration(FIXTag.timeInForce, FIXTimeInForce.init(rawValue:))
        transactTime = try m.timestamp(FIXTag.transactTime)
    }

    public func body() -> FIXBody {
        var b = FIXBody(Self.msgType)
        b.append(FIXTag.origClOrdID, origClOrdID)
        b.append(FIXTag.clOrdID, clOrdID)
        b.append(FIXTag.account, account)
        b.append(FIXTag.symbol, symbol)
        b.append(FIXTag.side, side.rawValue)
        b.append(FIXTag.orderQty, int: Int(orderQty))
        b.append(FIXTag.ordType, ordType.rawValue)
        b.append(FIXTag.price, price?.text)
        b.append(FIXTag.timeInForce, timeInForce?.rawValue)
        if let transactTime { b.append(FIXTag.transactTime, timestamp: transactTime) }
        return b
    }
}

/// Clearing confirmation carried on an ExecutionReport once the block holding
/// the trade is final (Clearledger custom tags):
///
/// - 150=I (Order Status), so engines do not count it as another fill;
/// - 20001 TradeID: the ExecID (17) of the fill being confirmed;
/// - 20002 BlockHeight: height of the final block;
/// - 20003 BlockHash: that block's hash, lowercase hex;
/// - 20004 ClearingStatus: 0 settled, 1 failed settlement (reason in Text 58).
public struct ClearingConfirmation: Sendable, Equatable {
    public enum Status: String, Sendable, Equatable {
        case settled = "0"
        case failed = "1"
    }
    public var tradeID: String
    public var blockHeight: Int
    public var blockHash: String
    public var status: Status

    public init(tradeID: String, blockHeight: Int, blockHash: String, status: Status) {
        self.tradeID = tradeID
        self.blockHeight = blockHeight
        self.blockHash = blockHash
        self.status = status
    }
}

public struct ExecutionReport: FIXMessageView, Equatable {
    public static let msgType = FIXMsgType.executionReport
    public var orderID: String
    public var clOrdID: String?
    public var origClOrdID: String?
    public var execID: String
    public var execType: FIXExecType
    public var ordStatus: FIXOrdStatus
    public var account: String?
    public var symbol: String
    public var side: FIXSide
    public var orderQty: Int64?
    public var price: FIXDecimal?
    public var leavesQty: Int64
    public var cumQty: Int64
    public var avgPx: FIXDecimal
    public var lastQty: Int64?
    public var lastPx: FIXDecimal?
    public var ordRejReason: Int?
    public var text: String?
    public var transactTime: Int64?
    public var clearing: ClearingConfirmation?

    public init(orderID: String, clOrdID: String?, origClOrdID: String? = nil, execID: String, execType: FIXExecType, ordStatus: FIXOrdStatus, account: String? = nil, symbol: String, side: FIXSide, orderQty: Int64? = nil, price: FIXDecimal? = nil, leavesQty: Int64, cumQty: Int64, avgPx: FIXDecimal, lastQty: Int64? = nil, lastPx: FIXDecimal? = nil, ordRejReason: Int? = nil, text: String? = nil, transactTime: Int64? = nil, clearing: ClearingConfirmation? = nil) {
        self.orderID = orderID
        self.clOrdID = clOrdID
        self.origClOrdID = origClOrdID
        self.execID = execID
        self.execType = execType
        self.ordStatus = ordStatus
        self.account = account
        self.symbol = symbol
        self.side = side
        self.orderQty = orderQty
        self.price = price
        self.leavesQty = leavesQty
        self.cumQty = cumQty
        self.avgPx = avgPx
        self.lastQty = lastQty
        self.lastPx = lastPx
        self.ordRejReason = ordRejReason
        self.text = text
        self.transactTime = transactTime
        self.clearing = clearing
    }

    public init(parsing m: FIXMessage) throws(FIXFieldError) {
        orderID = try m.requiredString(FIXTag.orderID)
        clOrdID = m.string(FIXTag.clOrdID)
        origClOrdID = m.string(FIXTag.origClOrdID)
        execID = try m.requiredString(FIXTag.execID)
        execType = try m.requiredEnumeration(FIXTag.execType, FIXExecType.init(rawValue:))
        ordStatus = try m.requiredEnumeration(FIXTag.ordStatus, FIXOrdStatus.init(rawValue:))
        account = m.string(FIXTag.account)
        symbol = try m.requiredString(FIXTag.symbol)
        side = try m.requiredEnumeration(FIXTag.side, FIXSide.init(rawValue:))
        orderQty = try m.quantity(FIXTag.orderQty)
        price = try m.decimal(FIXTag.price)
        leavesQty = try m.requiredQuantity(FIXTag.leavesQty)
        cumQty = try m.requiredQuantity(FIXTag.cumQty)
        guard let avg = try m.decimal(FIXTag.avgPx) else { throw FIXFieldError(tag: FIXTag.avgPx, value: nil, problem: .missing) }
        avgPx = avg
        lastQty = try m.quantity(FIXTag.lastQty)
        lastPx = try m.decimal(FIXTag.lastPx)
        ordRejReason = try m.int(FIXTag.ordRejReason)
        text = m.string(FIXTag.text)
        transactTime = try m.timestamp(FIXTag.transactTime)
        if let tradeID = m.string(FIXTag.clearingTradeID) {
            clearing = ClearingConfirmation(
                tradeID: tradeID,
                blockHeight: try m.requiredPositiveInt(FIXTag.clearingBlockHeight, allowZero: true),
                blockHash: try m.requiredString(FIXTag.clearingBlockHash),
                status: try m.requiredEnumeration(FIXTag.clearingStatus, ClearingConfirmation.Status.init(rawValue:)))
        } else {
            clearing = nil
        }
    }

    public func body() -> FIXBody {
        var b = FIXBody(Self.msgType, reservingCapacity: 256)
        b.append(FIXTag.orderID, orderID)
        b.append(FIXTag.clOrdID, clOrdID)
        b.append(FIXTag.origClOrdID, origClOrdID)
        b.append(FIXTag.execID, execID)
        b.append(FIXTag.execType, execType.rawValue)
        b.append(FIXTag.ordStatus, ordStatus.rawValue)
        b.append(FIXTag.account, account)
        b.append(FIXTag.symbol, symbol)
        b.append(FIXTag.side, side.rawValue)
        b.append(FIXTag.orderQty, int: orderQty.map { Int($0) })
        if let price { b.append(FIXTag.price, decimal: price) }
        b.append(FIXTag.leavesQty, int: Int(leavesQty))
        b.append(FIXTag.cumQty, int: Int(cumQty))
        b.append(FIXTag.avgPx, decimal: avgPx)
        b.append(FIXTag.lastQty, int: lastQty.map { Int($0) })
        if let lastPx { b.append(FIXTag.lastPx, decimal: lastPx) }
        b.append(FIXTag.ordRejReason, int: ordRejReason)
        b.append(FIXTag.text, text)
        if let transactTime { b.append(FIXTag.transactTime, timestamp: transactTime) }
        if let clearing {
            b.append(FIXTag.clearingTradeID, clearing.tradeID)
            b.append(FIXTag.clearingBlockHeight, int: clearing.blockHeight)
            b.append(FIXTag.clearingBlockHash, clearing.blockHash)
            b.append(FIXTag.clearingStatus, clearing.status.rawValue)
        }
        return b
    }
}

/// OrderCancelReject (9). CxlRejResponseTo 434: 1 cancel, 2 cancel/replace.
/// CxlRejReason 102: 0 too late, 1 unknown order, 3 already pending, 6
/// duplicate ClOrdID, 99 other.
public struct OrderCancelReject: FIXMessageView, Equatable {
    public static let msgType = FIXMsgType.orderCancelReject
    public enum ResponseTo: String, Sendable, Equatable {
        case cancelRequest = "1"
        case cancelReplaceRequest = "2"
    }
    public var orderID: String
    public var clOrdID: String
    public var origClOrdID: String
    public var ordStatus: FIXOrdStatus
    public var responseTo: ResponseTo
    public var cxlRejReason: Int?
    public var text: String?

    public init(orderID: String, clOrdID: String, origClOrdID: String, ordStatus: FIXOrdStatus, responseTo: ResponseTo, cxlRejReason: Int?, text: String? = nil) {
        self.orderID = orderID
        self.clOrdID = clOrdID
        self.origClOrdID = origClOrdID
        self.ordStatus = ordStatus
        self.responseTo = responseTo
        self.cxlRejReason = cxlRejReason
        self.text = text
    }

    public init(parsing m: FIXMessage) throws(FIXFieldError) {
        orderID = try m.requiredString(FIXTag.orderID)
        clOrdID = try m.requiredString(FIXTag.clOrdID)
        origClOrdID = try m.requiredString(FIXTag.origClOrdID)
        ordStatus = try m.requiredEnumeration(FIXTag.ordStatus, FIXOrdStatus.init(rawValue:))
        responseTo = try m.requiredEnumeration(FIXTag.cxlRejResponseTo, ResponseTo.init(rawValue:))
        cxlRejReason = try m.int(FIXTag.cxlRejReason)
        text = m.string(FIXTag.text)
    }

    public func body() -> FIXBody {
        var b = FIXBody(Self.msgType)
        b.append(FIXTag.orderID, orderID)
        b.append(FIXTag.clOrdID, clOrdID)
        b.append(FIXTag.origClOrdID, origClOrdID)
        b.append(FIXTag.ordStatus, ordStatus.rawValue)
        b.append(FIXTag.cxlRejResponseTo, responseTo.rawValue)
        b.append(FIXTag.cxlRejReason, int: cxlRejReason)
        b.append(FIXTag.text, text)
        return b
    }
}

/// BusinessMessageReject (j). BusinessRejectReason 380: 0 other, 1 unknown ID,
/// 2 unknown security, 3 unsupported message type, 4 application not
/// available, 5 conditionally required field missing.
public struct BusinessMessageReject: FIXMessageView, Equatable {
    public static let msgType = FIXMsgType.businessMessageReject
    public static let unsupportedMessageType = 3
    public var refSeqNum: Int?
    public var refMsgType: String
    public var businessRejectReason: Int
    public var text: String?

    public init(refSeqNum: Int?, refMsgType: String, businessRejectReason: Int, text: String? = nil) {
        self.refSeqNum = refSeqNum
        self.refMsgType = refMsgType
        self.businessRejectReason = businessRejectReason
        self.text = text
    }

    public init(parsing m: FIXMessage) throws(FIXFieldError) {
        refSeqNum = try m.int(FIXTag.refSeqNum)
        refMsgType = try m.requiredString(FIXTag.refMsgType)
        businessRejectReason = try m.requiredInt(FIXTag.businessRejectReason)
        text = m.string(FIXTag.text)
    }

    public func body() -> FIXBody {
        var b = FIXBody(Self.msgType)
        b.append(FIXTag.refSeqNum, int: refSeqNum)
        b.append(FIXTag.refMsgType, refMsgType)
        b.append(FIXTag.businessRejectReason, int: businessRejectReason)
        b.append(FIXTag.text, text)
        return b
    }
}
