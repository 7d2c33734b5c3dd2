import OmniNet
import OmniWire
import CWire

/// What an OUCH client poll delivers.
public enum OuchClientEvent {
    /// A well-formed outbound OUCH message and its SoupBinTCP sequence number.
    case message(sequence: UInt64, cw_ouch_out)
    /// A sequenced message that failed to decode (counted in `malformed`).
    case malformed(sequence: UInt64, cw_ouch_status)
    case endOfSession
    case disconnected(SoupError)
}

/// The trading core's side of an OUCH 4.2 port: encodes orders straight into the
/// SoupBinTCP send buffer and delivers the venue's responses decoded.
public final class OuchClient {
    public let soup: SoupClient
    public private(set) var malformed = 0

    public init(_ config: SoupClientConfig) { soup = SoupClient(config) }

    /// Connects and logs in; see `SoupClient.connect(sequence:)`.
    public func connect(sequence: UInt64? = nil) throws(SoupError) { try soup.connect(sequence: sequence) }
    public func logout() { soup.logout() }
    public func disconnect() { soup.disconnect() }
    public var nextSequence: UInt64 { soup.nextSequence }

    public func enter(_ order: cw_ouch_enter, flush: Bool = true) throws(SoupError) {
        var o = order
        try soup.send(max: Int(CW_OUCH_ENTER_LEN), flush: flush, encode: { cw_ouch_put_enter($0, $1, &o) })
    }

    public func replace(_ replace: cw_ouch_replace, flush: Bool = true) throws(SoupError) {
        var r = replace
        try soup.send(max: Int(CW_OUCH_REPLACE_LEN), flush: flush, encode: { cw_ouch_put_replace($0, $1, &r) })
    }

    /// `shares`: the size the order should have left (0 cancels it whole).
    public func cancel(_ token: cw_ouch_token, shares: UInt32 = 0, flush: Bool = true) throws(SoupError) {
        var t = token
        try soup.send(max: Int(CW_OUCH_CANCEL_LEN), flush: flush, encode: { cw_ouch_put_cancel($0, $1, &t, shares) })
    }

    public func modify(_ token: cw_ouch_token, side: UInt8, shares: UInt32) throws(SoupError) {
        var t = token
        try soup.send(max: Int(CW_OUCH_MODIFY_LEN), encode: { cw_ouch_put_modify($0, $1, &t, CChar(bitPattern: side), shares) })
    }

    /// One sequenced payload as an OUCH 4.2 outbound message (the one decode every path uses).
    @inline(__always)
    public static func decode(_ payload: UnsafeRawBufferPointer, into out: inout cw_ouch_out) -> cw_ouch_status {
        cw_ouch_decode_out(payload.baseAddress?.assumingMemoryBound(to: UInt8.self), payload.count, &out)
    }

    /// Waits up to `timeoutMs`, then delivers every response received (and keeps the session alive).
    public func poll(timeoutMs: Int32, _ onEvent: (OuchClientEvent) -> Void) {
        soup.poll(timeoutMs: timeoutMs) { ev in
            switch ev {
            case .sequenced(let seq, let payload):
                var out = cw_ouch_out()
                let st = Self.decode(payload, into: &out)
                if st == CW_OUCH_OK {
                    onEvent(.message(sequence: seq, out))
                } else {
                    malformed += 1
                    onEvent(.malformed(sequence: seq, st))
                }
            case .unsequenced, .debug: break
            case .endOfSession: onEvent(.endOfSession)
            case .disconnected(let e): onEvent(.disconnected(e))
            }
        }
    }
}

extension cw_ouch_token {
    /// A token from text: left-justified, space padded, cut at 14 characters.
    public init(_ text: String) {
        var s = text
        self = s.withUTF8 { b in b.withMemoryRebound(to: CChar.self) { cw_ouch_make_token($0.baseAddress, $0.count) } }
    }
    public var text: String { fieldText(b) }
}

extension cw_ouch_token: @retroactive Equatable {
    public static func == (a: cw_ouch_token, b: cw_ouch_token) -> Bool {
        withUnsafePointer(to: a) { pa in withUnsafePointer(to: b) { pb in cw_ouch_token_eq(pa, pb) != 0 } }
    }
}

/// Fills a fixed C char array (stock, firm) with text, left-justified and space padded.
public func ouchAlpha<T>(_ field: inout T, _ text: String) {
    withUnsafeMutableBytes(of: &field) { raw in
        let u = Array(text.utf8.prefix(raw.count))
        for i in 0..<raw.count { raw[i] = i < u.count ? u[i] : 0x20 }
    }
}

/// Text of a fixed C char array (stock, firm), spaces trimmed.
public func ouchText<T>(_ field: T) -> String { fieldText(field) }

extension cw_ouch_enter {
    /// An Enter Order for a displayed, agency, non-ISO limit order (the fields a plain client sets).
    public static func limit(token: String, stock: String, side: Character, shares: UInt32, price: UInt32,
                             tif: UInt32 = CW_OUCH_TIF_SYSTEM_HOURS, firm: String = "OMNI") -> cw_ouch_enter {
        var e = cw_ouch_enter()
        e.token = cw_ouch_token(token)
        e.side = CChar(bitPattern: side.asciiValue ?? UInt8(ascii: "B"))
        e.shares = shares
        ouchAlpha(&e.stock, stock)
        e.price = price
        e.tif = tif
        ouchAlpha(&e.firm, firm)
        e.display = CChar(bitPattern: UInt8(ascii: "Y")); e.capacity = CChar(bitPattern: UInt8(ascii: "A"))
        e.ise = CChar(bitPattern: UInt8(ascii: "N")); e.cross_type = CChar(bitPattern: UInt8(ascii: "N"))
        e.customer_type = CChar(bitPattern: UInt8(ascii: "N"))
        return e
    }
}
