import CWire

/// Our client order id as text: 12 base-36 digits (0-9, A-Z), most significant first, the way
/// OUCH tokens and FIX ClOrdIDs carry it (CWire's cw_base36.h does the digits).
enum ClientOrderIDText {
    static let digits = Int(CW_BASE36_DIGITS)
    /// The largest id 12 digits hold.
    static let maxID: UInt64 = CW_BASE36_MAX

    @inline(__always) static func digit(_ v: UInt32) -> UInt8 { cw_base36_digit(v) }

    /// The value (0-35) of base-36 digit `c`, or nil.
    @inline(__always) static func value(of c: UInt8) -> UInt32? {
        let v = cw_base36_value(c)
        return v < 36 ? v : nil
    }

    /// Writes the 12 digits of `id` (at most maxID) at `b[0..<12]`.
    @inline(__always) static func write(_ id: UInt64, to b: UnsafeMutableRawBufferPointer) {
        cw_base36_put12(b.baseAddress!.assumingMemoryBound(to: UInt8.self), id)
    }

    /// The id in `b[0..<12]`, or nil when a character is no base-36 digit.
    @inline(__always) static func read(_ b: UnsafeRawBufferPointer) -> UInt64? {
        var v: UInt64 = 0
        return cw_base36_get12(b.baseAddress!.assumingMemoryBound(to: UInt8.self), &v) == 0 ? v : nil
    }
}
