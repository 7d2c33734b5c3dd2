import CWire
import OmniGateway
import OmniWire
import Testing

/// The client order id's base-36 text in OUCH tokens and FIX ClOrdIDs, against the standard
/// library's own radix formatting (`String(_:radix:uppercase:)`), at the edges of each half and
/// over a sweep; a character that is no base-36 digit, at any place, makes it not ours.
@Suite struct ClientOrderIDTextTests {
    static let ids: [UInt64] = [0, 1, 35, 36, 1_295, 2_176_782_335, 2_176_782_336, 2_176_782_337, 1 << 24 | 5, UInt64(UInt32.max),
                                1 << 40, CW_BASE36_MAX - 1, CW_BASE36_MAX]
        + (0..<200).map { UInt64($0) &* 23_691_906_691_608_084 % CW_BASE36_MAX } // spread over the range

    func text(_ id: UInt64) -> String {
        let s = String(id, radix: 36, uppercase: true)
        return String(repeating: "0", count: 12 - s.count) + s
    }

    @Test func ouchTokensSpellTheIdInBase36AndReadBack() {
        for id in Self.ids {
            for replaces: UInt16 in [0, 7, 1_295] {
                let t = OuchOrderEntry.token(id, replaces: replaces)
                let chars = withUnsafeBytes(of: t) { String(decoding: $0, as: UTF8.self) }
                let r = String(replaces, radix: 36, uppercase: true)
                #expect(chars == text(id) + String(repeating: "0", count: 2 - r.count) + r, "id \(id)")
                #expect(OuchOrderEntry.clientOrderID(t) == id)
            }
        }
    }

    @Test func fixClOrdIDsSpellTheIdAndTheRequestCount() {
        for id in Self.ids {
            for request: UInt16 in [0, 1, 35, 36, 46_655, 46_656, UInt16.max] {
                let c = FixReports.clOrdID(id, request)
                #expect(c.description == text(id) + "." + String(request, radix: 36, uppercase: true), "id \(id) request \(request)")
                #expect(FixReports.clientOrderID(c) == id)
            }
        }
    }

    @Test func aCharacterOutsideBase36AnywhereIsNotOurs() {
        let good = Array(text(123_456_789_012).utf8)
        for place in 0..<12 {
            for bad in Array("az/:@[` ".utf8) + [0, 0x80, 0xFF] {
                var t = cw_ouch_token()
                withUnsafeMutableBytes(of: &t) { b in
                    for i in 0..<12 { b[i] = good[i] }
                    b[place] = bad
                    b[12] = 48; b[13] = 48
                }
                #expect(OuchOrderEntry.clientOrderID(t) == nil, "\(bad) at \(place)")
            }
        }
    }
}
