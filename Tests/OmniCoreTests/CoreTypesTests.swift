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
        for bad in ["", ".", "1.23456", "1.2.3", "12a", "-1", "1.", ".5", " 1"] { #expect(Price(bad) == nil, "\(bad)") }
    }

    @Test func priceTextTrimsToTheDecimalsAskedFor() {
        #expect(Price(itch: 2_000_000).text(minimumDecimals: 2) == "200.00")
        #expect(Price(itch: 2_000_050).text(minimumDecimals: 2) == "200.005")
        #expect(Price(itch: 1).text(minimumDecimals: 2) == "0.0001")
        #expect(Price(itch: 2_000_000).text(minimumDecimals: 0) == "200")
        #expect(Price(raw: -12_500).text(minimumDecimals: 1) == "-1.25")
    }

    @Test func fixedPointReadsDecimalsWithoutADouble() {
        #expect(FixedPoint.parse("429496.7295", decimals: 4) == 4_294_967_295)
        #expect(FixedPoint.parse("0.0001", decimals: 4) == 1)
        #expect(FixedPoint.parse("2.5", decimals: 3) == 2_500 && FixedPoint.parse("7", decimals: 0) == 7)
        #expect(FixedPoint.parse("999999999999.999999", decimals: 6) == 999_999_999_999_999_999, "the largest: no overflow")
        for bad in ["1.00001", "1.", ".5", "-1", "+1", "9999999999999", "1e3", "١"] { #expect(FixedPoint.parse(bad, decimals: 4) == nil, "\(bad)") }
        #expect(FixedPoint.parse("1", decimals: 7) == nil, "more than 6 places is refused, not overflowed")
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
