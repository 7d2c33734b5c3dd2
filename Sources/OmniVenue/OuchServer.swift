import CSys
import OmniNet
import OmniWire
import CWire
import Glibc

/// The venue behind an OUCH port (a matching engine, or a fake in tests). The server calls
/// one method per well-formed inbound message, on its own thread; the handler answers
/// through `out` at once (Accepted, Rejected, Executed...) and may keep `out.user` to
/// answer later from `poll`, e.g. a fill against a resting order.
public protocol OrderEntryHandler: AnyObject {
    func enterOrder(_ order: cw_ouch_enter, _ out: OuchOutbox)
    func replaceOrder(_ replace: cw_ouch_replace, _ out: OuchOutbox)
    func cancelOrder(_ cancel: cw_ouch_cancel, _ out: OuchOutbox)
    func modifyOrder(_ modify: cw_ouch_modify, _ out: OuchOutbox)
    /// Called on every server loop pass, for events not caused by an inbound message.
    func poll(_ server: SoupServer)
    /// A login of `user` was accepted (see `SoupServerApplication.loggedIn`).
    func loggedIn(_ user: SoupUser, server: SoupServer)
    /// The connection `user` logged in on is gone (see `SoupServerApplication.disconnected`);
    /// e.g. cancel the user's orders. Messages sequenced here reach the user on re-login.
    func disconnected(_ user: SoupUser, server: SoupServer)
}

extension OrderEntryHandler {
    public func poll(_ server: SoupServer) {}
    public func loggedIn(_ user: SoupUser, server: SoupServer) {}
    public func disconnected(_ user: SoupUser, server: SoupServer) {}
}

/// OUCH timestamps: nanoseconds since midnight (UTC here).
@inline(__always) public func ouchTimestamp() -> UInt64 { csys_ns_since_midnight_utc() }

/// Writes OUCH outbound messages as sequenced data on one user's stream. Each method
/// encodes straight into the stream's log slot and returns the message's sequence number,
/// or 0 when the slot (`SoupServerConfig.maxMessage`) is too small for the message: the
/// encoder refuses it, nothing is sent, and `SoupServer.refusedMessages` counts it.
public struct OuchOutbox {
    public let server: SoupServer
    public let user: SoupUser
    public init(server: SoupServer, user: SoupUser) { self.server = server; self.user = user }

    @discardableResult public func systemEvent(_ code: UInt8, timestamp: UInt64 = ouchTimestamp()) -> UInt64 {
        server.sequence(to: user, encode: { cw_ouch_put_system_event($0, $1, timestamp, CChar(bitPattern: code)) })
    }
    @discardableResult public func accepted(_ a: cw_ouch_accepted, timestamp: UInt64 = ouchTimestamp()) -> UInt64 {
        withUnsafePointer(to: a) { p in server.sequence(to: user, encode: { cw_ouch_put_accepted($0, $1, timestamp, p) }) }
    }
    @discardableResult public func replaced(_ r: cw_ouch_replaced, timestamp: UInt64 = ouchTimestamp()) -> UInt64 {
        withUnsafePointer(to: r) { p in server.sequence(to: user, encode: { cw_ouch_put_replaced($0, $1, timestamp, p) }) }
    }
    @discardableResult public func canceled(_ token: cw_ouch_token, decrement: UInt32, reason: UInt8,
                                            timestamp: UInt64 = ouchTimestamp()) -> UInt64 {
        withUnsafePointer(to: token) { t in
            server.sequence(to: user, encode: { cw_ouch_put_canceled($0, $1, timestamp, t, decrement, CChar(bitPattern: reason)) })
        }
    }
    @discardableResult public func aiqCanceled(_ d: cw_ouch_aiq_canceled, timestamp: UInt64 = ouchTimestamp()) -> UInt64 {
        withUnsafePointer(to: d) { p in server.sequence(to: user, encode: { cw_ouch_put_aiq_canceled($0, $1, timestamp, p) }) }
    }
    @discardableResult public func executed(_ token: cw_ouch_token, shares: UInt32, price: UInt32, liquidity: UInt8,
                                            match: UInt64, timestamp: UInt64 = ouchTimestamp()) -> UInt64 {
        withUnsafePointer(to: token) { t in
            server.sequence(to: user, encode: {
                cw_ouch_put_executed($0, $1, timestamp, t, shares, price, CChar(bitPattern: liquidity), match)
            })
        }
    }
    @discardableResult public func brokenTrade(_ token: cw_ouch_token, match: UInt64, reason: UInt8,
                                               timestamp: UInt64 = ouchTimestamp()) -> UInt64 {
        withUnsafePointer(to: token) { t in
            server.sequence(to: user, encode: { cw_ouch_put_broken_trade($0, $1, timestamp, t, match, CChar(bitPattern: reason)) })
        }
    }
    @discardableResult public func rejected(_ token: cw_ouch_token, reason: UInt8, timestamp: UInt64 = ouchTimestamp()) -> UInt64 {
        withUnsafePointer(to: token) { t in
            server.sequence(to: user, encode: { cw_ouch_put_rejected($0, $1, timestamp, t, CChar(bitPattern: reason)) })
        }
    }
    @discardableResult public func cancelPending(_ token: cw_ouch_token, timestamp: UInt64 = ouchTimestamp()) -> UInt64 {
        withUnsafePointer(to: token) { t in server.sequence(to: user, encode: { cw_ouch_put_cancel_pending($0, $1, timestamp, t) }) }
    }
    @discardableResult public func cancelReject(_ token: cw_ouch_token, timestamp: UInt64 = ouchTimestamp()) -> UInt64 {
        withUnsafePointer(to: token) { t in server.sequence(to: user, encode: { cw_ouch_put_cancel_reject($0, $1, timestamp, t) }) }
    }
    @discardableResult public func modified(_ token: cw_ouch_token, side: UInt8, shares: UInt32,
                                            timestamp: UInt64 = ouchTimestamp()) -> UInt64 {
        withUnsafePointer(to: token) { t in
            server.sequence(to: user, encode: { cw_ouch_put_modified($0, $1, timestamp, t, CChar(bitPattern: side), shares) })
        }
    }
}

/// OUCH 4.2 over a SoupBinTCP server: decodes each client's Unsequenced Data as an inbound
/// OUCH message and hands it to the venue's handler. Malformed messages (wrong length,
/// unknown type, bad side / time in force / token) are counted and dropped: OUCH has no
/// reply for a message whose token cannot be trusted.
public final class OuchServer<Handler: OrderEntryHandler>: SoupServerApplication {
    public let handler: Handler
    /// Counts per cw_ouch_status, index = minus the status (0 = OK).
    public private(set) var decodeResults = [Int](repeating: 0, count: 8)
    public var malformed: Int { decodeResults.dropFirst().reduce(0, +) }

    public init(handler: Handler) { self.handler = handler }

    public func received(_ payload: UnsafeRawBufferPointer, from user: SoupUser, server: SoupServer) {
        var msg = cw_ouch_in()
        let st = cw_ouch_decode_in(payload.baseAddress?.assumingMemoryBound(to: UInt8.self), payload.count, &msg)
        decodeResults[Int(-st.rawValue)] += 1
        guard st == CW_OUCH_OK else { return }
        let out = OuchOutbox(server: server, user: user)
        switch msg.type {
        case UInt8(ascii: "O"): handler.enterOrder(msg.u.enter, out)
        case UInt8(ascii: "U"): handler.replaceOrder(msg.u.replace, out)
        case UInt8(ascii: "X"): handler.cancelOrder(msg.u.cancel, out)
        default: handler.modifyOrder(msg.u.modify, out)
        }
    }

    public func tick(server: SoupServer) { handler.poll(server) }
    public func loggedIn(_ user: SoupUser, server: SoupServer) { handler.loggedIn(user, server: server) }
    public func disconnected(_ user: SoupUser, server: SoupServer) { handler.disconnected(user, server: server) }

    /// Starts a SoupBinTCP server with this OUCH application on its own thread.
    public static func start(_ config: SoupServerConfig, handler: Handler) throws(SoupError) -> (SoupServer, OuchServer) {
        let server = try SoupServer(config)
        let app = OuchServer(handler: handler)
        server.start(app)
        return (server, app)
    }
}
