import OmniGateway
import OmniWire
import OmniVenue
import OmniNet
import CWire
import Foundation
import Testing
@testable import OmniGateway

/// Inline identifiers (FixString) and the inline FixOut body: limits are enforced, never
/// truncated, and what goes on the wire is what was added.
@Suite(.serialized) struct FixIdentifierTests {
    @Test func fixStringHoldsUpToCapacityAndRefusesMore() {
        let max = String(repeating: "x", count: FixString.capacity)
        #expect(FixString(max)?.description == max)
        #expect(FixString(max + "y") == nil)
        let n = 1234567
        let s: FixString = "E-\(n)-\(-5)"
        #expect(s.description == "E-1234567--5" && s.count == 12)
        #expect(s == ("E-1234567--5" as FixString) && s != ("E-1234567--6" as FixString))
        #expect(Set([s, ("E-1234567--5" as FixString)]).count == 1)
        #expect(FixString().isEmpty && FixString(String())?.isEmpty == true)
    }

    @Test func fixOutEncodesFieldsInOrder() {
        var o = FixOut(msgType: "8")
        o.add(37, "O1" as FixString); o.add(58, "text with spaces"); o.addInt(38, 100); o.addInt(99, -42)
        o.addPrice(44, 1_012_500); o.addChar(54, UInt8(ascii: "1")); o.addTimestamp(60)
        let f = o.fields
        #expect(f.count == 7)
        #expect(f.prefix(6).map { "\($0.tag)=\($0.value)" } == ["37=O1", "58=text with spaces", "38=100", "99=-42", "44=101.25", "54=1"])
        #expect(f[6].tag == 60 && f[6].value.count == 21 && f[6].value.dropFirst(8).first == "-")
        var p = FixOut(msgType: "8")
        p.add(37, "O1")
        #expect(p != o && !o.overflowed)
        // A body past its 1 KiB is marked overflowed (the session drops it), not cut short.
        var big = FixOut(msgType: "3")
        big.add(58, String(repeating: "z", count: 1100))
        #expect(big.overflowed && big.bodyCount == 0)
    }

    @Test func overLongIdentifiersAreRejectedNotTruncated() throws {
        let dir = tempDir("longid")
        let venue = FakeFixVenue()
        let acc = try (FixAcceptor(config: FixSessionConfig(storeDirectory: dir), app: FixVenueApplication(venue: venue)))
        let c = try #require(RawClient(port: acc.port, sender: "LONG"))
        _ = try #require(c.logon(acc))
        let long = String(repeating: "C", count: FixString.capacity + 1)
        let max = String(repeating: "M", count: FixString.capacity)
        // ClOrdID 33 bytes: session Reject, SessionRejectReason 5 (value out of range), RefTagID 11.
        c.send("D", [(11, long), (55, "X"), (54, "1"), (38, "10"), (40, "2"), (44, "98")])
        let r1 = c.read(acc, count: 1)
        #expect(r1.first?[35] == "3" && r1.first?[373] == "5" && r1.first?[371] == "11" && r1.first?[45] == "2", "\(r1)")
        #expect(r1.first?[372] == "D" && r1.first?[58]?.contains("longer than 32") == true, "\(r1)")
        // Symbol 33 bytes: RefTagID 55.
        c.send("D", [(11, "ok1"), (55, long), (54, "1"), (38, "10"), (40, "2"), (44, "98")])
        let r2 = c.read(acc, count: 1)
        #expect(r2.first?[35] == "3" && r2.first?[373] == "5" && r2.first?[371] == "55", "\(r2)")
        // OrigClOrdID 33 bytes on a cancel: RefTagID 41.
        c.send("F", [(11, "ok2"), (41, long), (55, "X"), (54, "1")])
        let r3 = c.read(acc, count: 1)
        #expect(r3.first?[35] == "3" && r3.first?[371] == "41", "\(r3)")
        #expect(venue.calls.isEmpty, "nothing reached the venue: \(venue.calls)")
        // Exactly 32 bytes: accepted and echoed in full.
        c.send("D", [(11, max), (55, max), (54, "1"), (38, "10"), (40, "2"), (44, "98")])
        let r4 = c.read(acc, count: 1)
        #expect(r4.first?[35] == "8" && r4.first?[11] == max && r4.first?[55] == max && r4.first?[150] == "0", "\(r4)")
        #expect(venue.calls == ["D \(max) 10@980000"])
    }
}
