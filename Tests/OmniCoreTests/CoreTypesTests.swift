import OmniCore
import Testing

@Suite("Prices, symbols, timestamps")
struct CoreTypesTests {
    @Test func priceKeepsFourImpliedDecimals() {
        #expect(Price(itch: 2_931_200).description == "293.1200")
        #expect(Price("293.12")?.raw == 2_931_200)
        #expect(Price("0.0001")?.raw == 1)
        #expect(Price("200000")?.raw == 2_000_000_000)
        #expect(Price(raw: -5).description == "-0.0005")
        for bad in ["", ".", "1.23456", "1.2.3", "12a", "-1"] { #expect(Price(Substring(bad)) == nil, "\(bad)") }
    }

    @Test func symbolIsEightPaddedBytes() {
        let s = Symbol("AAPL")!
        #expect(s.wireBytes == Array("AAPL    ".utf8) && s.description == "AAPL")
        let wire = Array("AAPL    ".utf8)
        #expect(wire.withUnsafeBytes { Symbol(wire: $0.baseAddress!) } == s)
        #expect(Symbol("") == nil && Symbol("TOOLONGSYM") == nil && Symbol("A B") == nil)
    }

    @Test func sideAndTimestamp() {
        #expect(Side(itch: UInt8(ascii: "B")) == .bid && Side(itch: UInt8(ascii: "S")) == .ask && Side(itch: 0) == nil)
        #expect(Timestamp(nanoseconds: 0x0A11_EA0E_8C43).description == "03:04:32.057543747")
    }
}
