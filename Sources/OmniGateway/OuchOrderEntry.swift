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

    /// Connects and logs in: the first time for new messages only (what the venue sequenced for
    /// this login before, an earlier run's answers, is not ours); again after a disconnect from
    /// the next sequence number, so no answer is lost or seen twice. A re-login starts a
    /// recovery: nothing is sent until the venue's replay has ended (`isRecovering`).
    public func connect() throws(SoupError) {
        let again = loggedInBefore
        try client.connect(sequence: again ? nil : 0)
        loggedInBefore = true
        heartbeatsAtLogin = client.soup.heartbeatsReceived
        if again { recovery.begin() }
    }

    /// Logged in (recovering or not).
    public var isConnected: Bool { client.soup.isConnected }

    /// After a re-login, until the server's first heartbeat: a SoupBinTCP server sends one only
    /// when it has nothing queued for us (the replay included), so by then every answer to a
    /// request sent before the disconnect has arrived; a request still unanswered was lost with
    /// the connection. Requests are refused meanwhile (an answer to one could come after the
    /// heartbeat and make it look lost).
    public var isRecovering: Bool { recovery.isOn }
    var recovery = Recovery()
    var loggedInBefore = false
    var heartbeatsAtLogin = 0

    /// True once after a recovery ended (see `isRecovering`).
    public func takeRecovered() -> Bool { recovery.takeEnded() }

    // MARK: tokens

    static let idDigits = ClientOrderIDText.digits

    /// The token of order `id` after `replaces` replaces.
    public static func token(_ id: UInt64, replaces: UInt16) -> cw_ouch_token {
        var t = cw_ouch_token()
        withUnsafeMutableBytes(of: &t) { b in
            ClientOrderIDText.write(id, to: b)
            setReplaces(replaces, in: b)
        }
        return t
    }

    /// A token's last two characters: the order's replace count (mod 36^2) in base 36.
    @inline(__always) static func setReplaces(_ r: UInt16, in b: UnsafeMutableRawBufferPointer) {
        b[idDigits] = digit(UInt32(r / 36 % 36))
        b[idDigits + 1] = digit(UInt32(r % 36))
    }

    @inline(__always) static func digit(_ v: UInt32) -> UInt8 { ClientOrderIDText.digit(v) }

    /// The replace count (mod 36^2) a token's last two characters carry; nil when they are not base 36.
    static func replaces(in token: cw_ouch_token) -> UInt16? {
        withUnsafeBytes(of: token) { b in
            guard let hi = ClientOrderIDText.value(of: b[idDigits]), let lo = ClientOrderIDText.value(of: b[idDigits + 1]) else { return nil }
            return UInt16(hi * 36 + lo)
        }
    }

    /// The client order id a token carries, or nil when it is not one of ours.
    public static func clientOrderID(_ token: cw_ouch_token) -> UInt64? {
        withUnsafeBytes(of: token) { ClientOrderIDText.read($0) }
    }

    @inline(__always) func slot(_ id: UInt64) -> Int? { decoder.slot(id) }

    /// The Enter Order for a new-order request: the instrument's template (stock, firm, capacity)
    /// with the order's `token`, the request's side, shares, price, time in force and display.
    @inline(__always) public static func enter(_ template: cw_ouch_enter, _ request: borrowing omni_event, token: cw_ouch_token) -> cw_ouch_enter {
        let o = request.order
        var e = template
        e.token = token
        e.side = CChar(bitPattern: o.side == UInt8(OMNI_SIDE_BUY) ? UInt8(ascii: "B") : UInt8(ascii: "S"))
        e.shares = o.qty
        e.price = o.price
        e.tif = o.order_flags & UInt8(OMNI_ORDF_IOC) != 0 ? CW_OUCH_TIF_IOC : CW_OUCH_TIF_SYSTEM_HOURS
        if o.order_flags & UInt8(OMNI_ORDF_POST_ONLY) != 0 { e.display = CChar(bitPattern: UInt8(ascii: "P")) }
        return e
    }

    /// The Replace Order for a replace request of the order whose token is `existing` now; the
    /// order's token becomes `replacement`.
    @inline(__always) public static func replace(_ request: borrowing omni_event, existing: cw_ouch_token,
                                                 replacement: cw_ouch_token) -> cw_ouch_replace {
        let o = request.order
        var r = cw_ouch_replace()
        r.existing = existing
        r.replacement = replacement
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
                try client.enter(Self.enter(templates[Int(request.locate)], request, token: decoder.token(slot: s)), flush: false)
            case Int32(OMNI_EV_ORDER_CANCEL.rawValue):
                try client.cancel(decoder.token(slot: s), shares: o.qty, flush: false)
            case Int32(OMNI_EV_ORDER_REPLACE.rawValue):
                try client.replace(Self.replace(request, existing: decoder.token(slot: s), replacement: decoder.token(slot: s, ahead: 1)), flush: false)
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
        if isRecovering && client.soup.heartbeatsReceived > heartbeatsAtLogin { recovery.end() }
        return decoder.drain(body)
    }
}

