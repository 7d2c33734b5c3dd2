import CEvent
import CWire
import OmniCore
import OmniWire

/// OUCH 4.2 over SoupBinTCP as an `OrderEntry`: our CEvent requests become Enter / Replace /
/// Cancel Order messages, queued and sent in one write per pass (`flush`); the venue's
/// Accepted, Replaced, Canceled, Executed, Rejected and Cancel Reject come back from `poll`
/// (a non-blocking read, no poll(2)) as CEvent answers and fills, reasons as
/// OMNI_REASON_OUCH | the OUCH character.
///
/// Tokens carry our client order id: its base 36 in the first 12 characters and the order's
/// replace count in the last 2 (OUCH wants a fresh token per replace), so an answer's token
/// gives the id back with no lookup. What OUCH's answers leave out (side, instrument,
/// strategy, shares still open) is kept per client order slot in arrays sized at start.
public final class OuchOrderEntry: OrderEntry {
    public let client: OuchClient
    /// The venue's answers as CEvent events: the decode path, and what it keeps per order slot.
    public let decoder: OuchAnswers
    /// An Enter Order per locate with its stock and firm filled in (index = locate; stock blank: unknown).
    let templates: [cw_ouch_enter]
    /// Requests refused here: not connected, no room in the send buffer, an unknown
    /// instrument or order, an id past the token's range.
    public private(set) var refused = 0
    /// Messages that decoded but named a token not ours, or that OUCH has no answer type for
    /// here, or that did not decode.
    public var unmatched: Int { decoder.unmatched }
    public private(set) var lastError: SoupError?

    /// `symbols[locate]` is the stock each locate trades as; `orderSlots` bounds our client
    /// order ids' slots (the ledger's capacity).
    public init(_ config: SoupClientConfig, symbols: [UInt16: String], orderSlots: Int = 1 << 16, answerCapacity: Int = 1 << 16,
                firm: String = "OMNI") {
        client = OuchClient(config)
        decoder = OuchAnswers(orderSlots: orderSlots, answerCapacity: answerCapacity)
        let top = Int(symbols.keys.max() ?? 0)
        var t = [cw_ouch_enter](repeating: cw_ouch_enter(), count: top + 1)
        for (locate, stock) in symbols { t[Int(locate)] = .limit(token: "", stock: stock, side: "B", shares: 0, price: 0, firm: firm) }
        templates = t
    }

    /// Connects and logs in (again after a disconnect: from the next sequence number, so no
    /// answer is lost or seen twice). A re-login starts a recovery: nothing is sent until the
    /// venue's replay has ended (`isRecovering`).
    public func connect() throws(SoupError) {
        let again = loggedInBefore
        try client.connect()
        loggedInBefore = true
        heartbeatsAtLogin = client.soup.heartbeatsReceived
        isRecovering = again
    }

    /// Logged in (recovering or not).
    public var isConnected: Bool { client.soup.isConnected }

    /// After a re-login, until the server's first heartbeat: a SoupBinTCP server sends one only
    /// when it has nothing queued for us (the replay included), so by then every answer to a
    /// request sent before the disconnect has arrived; a request still unanswered was lost with
    /// the connection. Requests are refused meanwhile (an answer to one could come after the
    /// heartbeat and make it look lost).
    public private(set) var isRecovering = false
    var loggedInBefore = false
    var heartbeatsAtLogin = 0
    var recoveredSinceAsked = false

    /// True once after a recovery ended (see `isRecovering`).
    public func takeRecovered() -> Bool {
        defer { recoveredSinceAsked = false }
        return recoveredSinceAsked
    }

    // MARK: tokens

    static let idDigits = 12
    static let maxID: UInt64 = 4_738_381_338_321_616_895 // 36^12 - 1

    /// The token of order `id` after `replaces` replaces.
    public static func token(_ id: UInt64, replaces: UInt16) -> cw_ouch_token {
        var t = cw_ouch_token()
        withUnsafeMutableBytes(of: &t) { b in
            var v = id
            for i in stride(from: idDigits - 1, through: 0, by: -1) { b[i] = digit(v % 36); v /= 36 }
            b[idDigits] = digit(UInt64(replaces / 36 % 36))
            b[idDigits + 1] = digit(UInt64(replaces % 36))
        }
        return t
    }

    @inline(__always) static func digit(_ v: UInt64) -> UInt8 { v < 10 ? UInt8(48 + v) : UInt8(55 + v) } // 0-9, A-Z

    /// The client order id a token carries, or nil when it is not one of ours.
    public static func clientOrderID(_ token: cw_ouch_token) -> UInt64? {
        withUnsafeBytes(of: token) { b -> UInt64? in
            var v: UInt64 = 0
            for i in 0..<idDigits {
                let c = b[i]
                let d: UInt64
                switch c {
                case 48...57: d = UInt64(c - 48)
                case 65...90: d = UInt64(c - 55)
                default: return nil
                }
                v = v * 36 + d
            }
            return v
        }
    }

    @inline(__always) func slot(_ id: UInt64) -> Int? { decoder.slot(id) }

    /// The Enter Order for a new-order request: the instrument's template (stock, firm, capacity)
    /// with the request's token, side, shares, price, time in force and display.
    @inline(__always) public static func enter(_ template: cw_ouch_enter, _ request: borrowing omni_event) -> cw_ouch_enter {
        let o = request.order
        var e = template
        e.token = token(o.client_order_id, replaces: 0)
        e.side = CChar(bitPattern: o.side == UInt8(OMNI_SIDE_BUY) ? UInt8(ascii: "B") : UInt8(ascii: "S"))
        e.shares = o.qty
        e.price = o.price
        e.tif = o.order_flags & UInt8(OMNI_ORDF_IOC) != 0 ? CW_OUCH_TIF_IOC : CW_OUCH_TIF_SYSTEM_HOURS
        if o.order_flags & UInt8(OMNI_ORDF_POST_ONLY) != 0 { e.display = CChar(bitPattern: UInt8(ascii: "P")) }
        return e
    }

    /// The Replace Order for a replace request of an order replaced `replaces` times so far.
    @inline(__always) public static func replace(_ request: borrowing omni_event, replaces: UInt16) -> cw_ouch_replace {
        let o = request.order
        var r = cw_ouch_replace()
        r.existing = token(o.client_order_id, replaces: replaces)
        r.replacement = token(o.client_order_id, replaces: replaces &+ 1)
        r.shares = o.qty
        r.price = o.price
        r.tif = CW_OUCH_TIF_SYSTEM_HOURS
        r.display = CChar(bitPattern: UInt8(ascii: "Y"))
        r.ise = CChar(bitPattern: UInt8(ascii: "N"))
        return r
    }

    // MARK: OrderEntry

    public func submit(_ request: borrowing omni_event) -> Bool {
        let o = request.order
        guard let s = slot(o.client_order_id), isConnected, !isRecovering else { refused += 1; return false }
        do throws(SoupError) {
            switch Int32(request.type) {
            case Int32(OMNI_EV_ORDER_NEW.rawValue):
                guard Int(request.locate) < templates.count, templates[Int(request.locate)].stock.0 != 0 else { refused += 1; return false }
                decoder.register(request)
                try client.enter(Self.enter(templates[Int(request.locate)], request), flush: false)
            case Int32(OMNI_EV_ORDER_CANCEL.rawValue):
                try client.cancel(Self.token(o.client_order_id, replaces: decoder.replaces[s]), shares: o.qty, flush: false)
            case Int32(OMNI_EV_ORDER_REPLACE.rawValue):
                try client.replace(Self.replace(request, replaces: decoder.replaces[s]), flush: false)
            default:
                refused += 1
                return false
            }
        } catch {
            lastError = error
            refused += 1
            return false
        }
        return true
    }

    public func flush() {
        guard isConnected else { return }
        do throws(SoupError) { try client.soup.flush() } catch { lastError = error }
    }

    @discardableResult
    public func poll(_ body: (inout omni_event) -> Void) -> Int {
        client.poll(timeoutMs: 0) { ev in
            switch ev {
            case .message(let sequence, let m): decoder.translate(m, sequence: sequence)
            case .malformed: decoder.unmatched += 1
            case .endOfSession: break
            case .disconnected(let e): lastError = e
            }
        }
        if isRecovering && client.soup.heartbeatsReceived > heartbeatsAtLogin { isRecovering = false; recoveredSinceAsked = true }
        return decoder.drain(body)
    }
}

