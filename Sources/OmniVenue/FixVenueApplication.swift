import CWire
import OmniWire

/// What the acceptor calls for each application message. `session` is the client's
/// SenderCompID. Responses are appended to `out` in the order they must be sent.
public protocol FixVenue: AnyObject {
    func newOrder(_ order: FixNewOrder, session: String, into out: inout [FixVenueResponse])
    func cancel(_ request: FixCancelRequest, session: String, into out: inout [FixVenueResponse])
    func replace(_ request: FixReplaceRequest, session: String, into out: inout [FixVenueResponse])
    /// An OrderStatusRequest: an ExecutionReport with ExecType I, of the order or of an unknown one.
    func orderStatus(_ request: FixOrderStatusRequest, session: String, into out: inout [FixVenueResponse])
    /// The counterparty `session` logged on.
    func sessionLoggedOn(session: String)
    /// The counterparty `session`'s connection ended (Logout or disconnect): e.g. cancel its orders.
    func sessionEnded(session: String)
}

extension FixVenue {
    /// A venue that keeps no orders to ask about: every order is unknown.
    public func orderStatus(_ request: FixOrderStatusRequest, session: String, into out: inout [FixVenueResponse]) {
        out.append(.execution(request.unknownOrder(execID: "STATUS")))
    }
    public func sessionLoggedOn(session: String) {}
    public func sessionEnded(session: String) {}
}

/// FixApplication that decodes D / F / G / H for a FixVenue and encodes its responses.
public final class FixVenueApplication<V: FixVenue>: FixApplication {
    public let venue: V
    var responses: [FixVenueResponse] = []
    var rejectSeq: UInt64 = 0
    public init(venue: V) { self.venue = venue; responses.reserveCapacity(8) }

    public func loggedOn(peer: String) { venue.sessionLoggedOn(session: peer) }
    public func sessionEnded(peer: String) { venue.sessionEnded(session: peer) }

    /// An identifier field: its value, or the verdict for a missing or over-long one.
    static func identifier(_ m: FixView, _ tag: UInt32) -> (FixString?, FixAppVerdict) {
        switch m.identifier(tag) {
        case .value(let v): return (v, .accepted)
        case .missing: return (nil, .missing(tag))
        case .tooLong: return (nil, .reject(reason: 5, tag: tag, text: "value longer than 32 bytes"))
        }
    }

    /// The order a cancel (F) or replace (G) names: ClOrdID, OrigClOrdID, Symbol, Side; nil and the
    /// verdict for the first field missing or too long.
    static func amendedOrder(_ m: FixView) -> ((clOrdID: FixString, orig: FixString, symbol: FixString, side: FixSide)?, FixAppVerdict) {
        let (cl, v11) = identifier(m, 11)
        guard let clOrdID = cl else { return (nil, v11) }
        let (or, v41) = identifier(m, 41)
        guard let orig = or else { return (nil, v41) }
        let (sy, v55) = identifier(m, 55)
        guard let symbol = sy else { return (nil, v55) }
        guard let sideC = m.char(54), let side = FixSide(rawValue: sideC) else { return (nil, .missing(54)) }
        return ((clOrdID, orig, symbol, side), .accepted)
    }

    public func fromApp(_ m: FixView, peer: String, out: inout FixOutbox) -> FixAppVerdict {
        responses.removeAll(keepingCapacity: true)
        guard let type = m.msgTypeByte else { return .reject(reason: 11, tag: 35, text: m.has(35) ? "unsupported MsgType" : "MsgType missing") }
        switch type {
        case UInt8(ascii: "D"):
            let (cl, v11) = Self.identifier(m, 11)
            guard let clOrdID = cl else { return v11 }
            let (sy, v55) = Self.identifier(m, 55)
            guard let symbol = sy else { return v55 }
            guard let sideC = m.char(54) else { return .missing(54) }
            guard let side = FixSide(rawValue: sideC) else { return .reject(reason: 5, tag: 54, text: "unsupported Side") }
            guard let qty = m.int(38) else { return m.has(38) ? .reject(reason: 6, tag: 38, text: "bad OrderQty") : .missing(38) }
            guard let otC = m.char(40) else { return .missing(40) }
            guard let ordType = FixOrdType(rawValue: otC) else { return .reject(reason: 5, tag: 40, text: "OrdType must be 1 or 2") }
            let tif = m.char(59).map { FixTimeInForce(rawValue: $0) } ?? .day
            guard let tif else { return .reject(reason: 5, tag: 59, text: "TimeInForce must be 0, 3 or 4") }
            var price: Int64 = 0
            var bad: String? = qty <= 0 ? "OrderQty must be positive" : nil
            if ordType == .limit {
                switch m.price(44) {
                case .missing: bad = bad ?? "limit order without Price"
                case .invalid: bad = bad ?? "Price not a decimal with at most 4 decimals"
                case .value(let p): if p <= 0 { bad = bad ?? "Price must be positive" } else { price = p }
                }
            }
            let postOnly = m.contains(18, byte: UInt8(ascii: "6"))
            let order = FixNewOrder(clOrdID: clOrdID, symbol: symbol, side: side, quantity: qty, ordType: ordType,
                                    price: price, timeInForce: tif, postOnly: postOnly)
            if let bad {
                rejectSeq += 1
                out.append(FixExecution(orderID: "NONE", clOrdID: clOrdID, execID: "REJ-\(rejectSeq)", execType: .rejected,
                                        ordStatus: .rejected, symbol: symbol, side: side, orderQty: max(qty, 0), price: price,
                                        leavesQty: 0, cumQty: 0, avgPx: 0, text: bad).report)
                return .accepted
            }
            venue.newOrder(order, session: peer, into: &responses)
        case UInt8(ascii: "F"):
            let (o, verdict) = Self.amendedOrder(m)
            guard let o else { return verdict }
            venue.cancel(FixCancelRequest(clOrdID: o.clOrdID, origClOrdID: o.orig, symbol: o.symbol, side: o.side), session: peer, into: &responses)
        case UInt8(ascii: "G"):
            let (o, verdict) = Self.amendedOrder(m)
            guard let o else { return verdict }
            let (clOrdID, orig, symbol, side) = o
            guard let qty = m.int(38) else { return .missing(38) }
            guard let otC = m.char(40), let ordType = FixOrdType(rawValue: otC) else { return .missing(40) }
            let tif = m.char(59).flatMap { FixTimeInForce(rawValue: $0) } ?? .day
            var price: Int64 = 0
            if ordType == .limit {
                guard case .value(let p) = m.price(44), p > 0 else {
                    out.append(FixCancelRejection(orderID: "NONE", clOrdID: clOrdID, origClOrdID: orig, ordStatus: .rejected,
                                                  responseTo: .replace, reason: 99, text: "Price missing or more than 4 decimals").message)
                    return .accepted
                }
                price = p
            }
            venue.replace(FixReplaceRequest(clOrdID: clOrdID, origClOrdID: orig, symbol: symbol, side: side, quantity: qty,
                                            ordType: ordType, price: price, timeInForce: tif), session: peer, into: &responses)
        case UInt8(ascii: "H"):
            let (cl, v11) = Self.identifier(m, 11)
            guard let clOrdID = cl else { return v11 }
            let (sy, v55) = Self.identifier(m, 55)
            guard let symbol = sy else { return v55 }
            guard let sideC = m.char(54), let side = FixSide(rawValue: sideC) else { return .missing(54) }
            venue.orderStatus(FixOrderStatusRequest(clOrdID: clOrdID, symbol: symbol, side: side), session: peer, into: &responses)
        default:
            return .reject(reason: 11, tag: 35, text: "unsupported MsgType")
        }
        for r in responses {
            switch r {
            case .execution(let e): out.append(e.report)
            case .cancelReject(let c): out.append(c.message)
            }
        }
        return .accepted
    }
}
