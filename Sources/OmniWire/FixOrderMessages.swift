// The application face of the FIX acceptor: decoded order-entry requests in, venue
// responses out. The matching engine (OmniVenue) implements FixVenue; FixVenueApplication
// turns D / F / G into calls and the responses into ExecutionReport / OrderCancelReject.
import CWire

public enum FixSide: UInt8, Sendable { case buy = 49, sell = 50, sellShort = 53 }  // '1' '2' '5'
public enum FixOrdType: UInt8, Sendable { case market = 49, limit = 50 }        // '1' '2'
public enum FixTimeInForce: UInt8, Sendable { case day = 48, ioc = 51, fok = 52 } // '0' '3' '4'

/// Prices are integer ITCH units: 4 implied decimals (187.25 -> 1_872_500). Identifiers are
/// inline FixStrings (at most FixString.capacity bytes: a longer one is refused with Reject 3).
public struct FixNewOrder: Sendable, Equatable {
    public var clOrdID: FixString
    public var symbol: FixString
    public var side: FixSide
    public var quantity: Int64
    public var ordType: FixOrdType
    public var price: Int64       // 0 for market orders
    public var timeInForce: FixTimeInForce
    public var postOnly: Bool     // ExecInst 18 contains '6'
    public init(clOrdID: FixString, symbol: FixString, side: FixSide, quantity: Int64, ordType: FixOrdType, price: Int64,
                timeInForce: FixTimeInForce = .day, postOnly: Bool = false) {
        self.clOrdID = clOrdID; self.symbol = symbol; self.side = side; self.quantity = quantity; self.ordType = ordType
        self.price = price; self.timeInForce = timeInForce; self.postOnly = postOnly
    }
}

public struct FixCancelRequest: Sendable, Equatable {
    public var clOrdID: FixString
    public var origClOrdID: FixString
    public var symbol: FixString
    public var side: FixSide
    public init(clOrdID: FixString, origClOrdID: FixString, symbol: FixString, side: FixSide) {
        self.clOrdID = clOrdID; self.origClOrdID = origClOrdID; self.symbol = symbol; self.side = side
    }
}

public struct FixReplaceRequest: Sendable, Equatable {
    public var clOrdID: FixString
    public var origClOrdID: FixString
    public var symbol: FixString
    public var side: FixSide
    public var quantity: Int64
    public var ordType: FixOrdType
    public var price: Int64
    public var timeInForce: FixTimeInForce
    public init(clOrdID: FixString, origClOrdID: FixString, symbol: FixString, side: FixSide, quantity: Int64,
                ordType: FixOrdType, price: Int64, timeInForce: FixTimeInForce = .day) {
        self.clOrdID = clOrdID; self.origClOrdID = origClOrdID; self.symbol = symbol; self.side = side
        self.quantity = quantity; self.ordType = ordType; self.price = price; self.timeInForce = timeInForce
    }
}

/// OrderStatusRequest (H): what the venue holds of the order `clOrdID` names (after a
/// reconnect). The venue answers with an ExecutionReport, ExecType I (order status).
public struct FixOrderStatusRequest: Sendable, Equatable {
    public var clOrdID: FixString
    public var symbol: FixString
    public var side: FixSide
    public init(clOrdID: FixString, symbol: FixString, side: FixSide) { self.clOrdID = clOrdID; self.symbol = symbol; self.side = side }

    /// The answer when the ClOrdID names no order the venue holds: ExecType I, OrdStatus 8.
    public func unknownOrder(execID: FixString) -> FixExecution {
        FixExecution(orderID: "NONE", clOrdID: clOrdID, execID: execID, execType: .orderStatus, ordStatus: .rejected, symbol: symbol,
                     side: side, orderQty: 0, price: 0, leavesQty: 0, cumQty: 0, avgPx: 0, text: "unknown order")
    }

    public var message: FixOut {
        var o = FixOut(msgType: "H")
        o.add(11, clOrdID)
        o.add(55, symbol)
        o.addChar(54, side.rawValue)
        return o
    }
}

/// ExecType 150 / OrdStatus 39 values used here.
public enum FixExecType: UInt8, Sendable {
    case new = 48, partialFill = 49, fill = 50, canceled = 52, replaced = 53, rejected = 56, trade = 70, orderStatus = 73  // '0' '1' '2' '4' '5' '8' 'F' 'I'
}
public enum FixOrdStatus: UInt8, Sendable {
    case new = 48, partiallyFilled = 49, filled = 50, canceled = 52, replaced = 53, rejected = 56  // '0' '1' '2' '4' '5' '8'
}

public struct FixExecution: Sendable, Equatable {
    public var orderID: FixString
    public var clOrdID: FixString
    public var origClOrdID: FixString?
    public var execID: FixString
    public var execType: FixExecType
    public var ordStatus: FixOrdStatus
    public var symbol: FixString
    public var side: FixSide
    public var orderQty: Int64
    public var price: Int64
    public var leavesQty: Int64
    public var cumQty: Int64
    public var avgPx: Int64
    public var lastPx: Int64
    public var lastQty: Int64
    /// LastLiquidityInd (851) of a fill: '1' added liquidity, '2' removed it; 0: not sent.
    public var lastLiquidity: UInt8
    public var text: String?
    public init(orderID: FixString, clOrdID: FixString, origClOrdID: FixString? = nil, execID: FixString, execType: FixExecType,
                ordStatus: FixOrdStatus, symbol: FixString, side: FixSide, orderQty: Int64, price: Int64,
                leavesQty: Int64, cumQty: Int64, avgPx: Int64, lastPx: Int64 = 0, lastQty: Int64 = 0, lastLiquidity: UInt8 = 0,
                text: String? = nil) {
        self.orderID = orderID; self.clOrdID = clOrdID; self.origClOrdID = origClOrdID; self.execID = execID
        self.execType = execType; self.ordStatus = ordStatus; self.symbol = symbol; self.side = side
        self.orderQty = orderQty; self.price = price; self.leavesQty = leavesQty; self.cumQty = cumQty
        self.avgPx = avgPx; self.lastPx = lastPx; self.lastQty = lastQty; self.lastLiquidity = lastLiquidity; self.text = text
    }
}

public struct FixCancelRejection: Sendable, Equatable {
    public enum ResponseTo: UInt8, Sendable { case cancel = 49, replace = 50 }  // 434: '1' '2'
    public var orderID: FixString     // "NONE" when unknown
    public var clOrdID: FixString
    public var origClOrdID: FixString
    public var ordStatus: FixOrdStatus
    public var responseTo: ResponseTo
    public var reason: Int          // 102: 0 too late, 1 unknown order, 3 already pending, 99 other
    public var text: String?
    public init(orderID: FixString, clOrdID: FixString, origClOrdID: FixString, ordStatus: FixOrdStatus,
                responseTo: ResponseTo, reason: Int, text: String? = nil) {
        self.orderID = orderID; self.clOrdID = clOrdID; self.origClOrdID = origClOrdID
        self.ordStatus = ordStatus; self.responseTo = responseTo; self.reason = reason; self.text = text
    }

    /// The answer to a cancel or replace of an order the venue does not know (102 = 1, OrderID NONE).
    public static func unknownOrder(clOrdID: FixString, origClOrdID: FixString, responseTo: ResponseTo) -> FixCancelRejection {
        FixCancelRejection(orderID: "NONE", clOrdID: clOrdID, origClOrdID: origClOrdID, ordStatus: .rejected,
                           responseTo: responseTo, reason: 1, text: "unknown order")
    }
}

public enum FixVenueResponse: Sendable, Equatable {
    case execution(FixExecution)
    case cancelReject(FixCancelRejection)
}

extension FixNewOrder {
    /// This order as a NewOrderSingle (D) body: ClOrdID 11, Symbol 55, Side 54, TransactTime 60,
    /// OrderQty 38, OrdType 40, Price 44 (limit orders), TimeInForce 59, ExecInst 18=6 (post-only).
    /// Allocates nothing: FixOut encodes into inline bytes.
    public var message: FixOut {
        var o = FixOut(msgType: "D")
        o.add(11, clOrdID)
        o.add(55, symbol)
        o.addChar(54, side.rawValue)
        o.addTimestamp(60)
        o.addInt(38, quantity)
        o.addChar(40, ordType.rawValue)
        if ordType == .limit { o.addPrice(44, price) }
        o.addChar(59, timeInForce.rawValue)
        if postOnly { o.addChar(18, UInt8(ascii: "6")) }
        return o
    }
}

extension FixCancelRequest {
    /// This request as an OrderCancelRequest (F) body.
    public var message: FixOut {
        FixOut.amendment("F", clOrdID: clOrdID, origClOrdID: origClOrdID, symbol: symbol, side: side)
    }
}

extension FixReplaceRequest {
    /// This request as an OrderCancelReplaceRequest (G) body.
    public var message: FixOut {
        var o = FixOut.amendment("G", clOrdID: clOrdID, origClOrdID: origClOrdID, symbol: symbol, side: side)
        o.addInt(38, quantity)
        o.addChar(40, ordType.rawValue)
        if ordType == .limit { o.addPrice(44, price) }
        o.addChar(59, timeInForce.rawValue)
        return o
    }
}

extension FixExecution {
    /// This execution as an ExecutionReport (8) body.
    public var report: FixOut {
        let e = self
        var o = FixOut(msgType: "8")
        o.add(37, e.orderID)
        o.add(11, e.clOrdID)
        if let orig = e.origClOrdID { o.add(41, orig) }
        o.add(17, e.execID)
        o.addChar(150, e.execType.rawValue)
        o.addChar(39, e.ordStatus.rawValue)
        o.add(55, e.symbol)
        o.addChar(54, e.side.rawValue)
        o.addInt(38, e.orderQty)
        if e.price > 0 { o.addPrice(44, e.price) }
        if e.lastQty > 0 { o.addInt(32, e.lastQty); o.addPrice(31, e.lastPx) }
        if e.lastLiquidity != 0 { o.addChar(851, e.lastLiquidity) }
        o.addInt(151, e.leavesQty)
        o.addInt(14, e.cumQty)
        o.addPrice(6, e.avgPx)
        o.addTimestamp(60)
        if let t = e.text { o.add(58, t) }
        return o
    }

}

extension FixCancelRejection {
    /// This rejection as an OrderCancelReject (9) body.
    public var message: FixOut {
        let c = self
        var o = FixOut(msgType: "9")
        o.add(37, c.orderID)
        o.add(11, c.clOrdID)
        o.add(41, c.origClOrdID)
        o.addChar(39, c.ordStatus.rawValue)
        o.addChar(434, c.responseTo.rawValue)
        o.addInt(102, Int64(c.reason))
        if let t = c.text { o.add(58, t) }
        return o
    }
}

extension FixOut {
    /// The fields a cancel (F) and a cancel/replace (G) share: ClOrdID 11, OrigClOrdID 41,
    /// Symbol 55, Side 54, TransactTime 60.
    static func amendment(_ msgType: String, clOrdID: FixString, origClOrdID: FixString,
                          symbol: FixString, side: FixSide) -> FixOut {
        var o = FixOut(msgType: msgType)
        o.add(11, clOrdID)
        o.add(41, origClOrdID)
        o.add(55, symbol)
        o.addChar(54, side.rawValue)
        o.addTimestamp(60)
        return o
    }
}
