import CEvent
import CRing
import CSys
import Glibc
import OmniControl
import OmniRisk
import OmniStrategy
@testable import OmniTrading
import Testing

/// The loop's end of the control plane without HTTP: commands pushed on the ring as the control
/// plane pushes them, applied by `drain` between passes, each acknowledged with its sequence
/// number and the configuration version after it; refusals leave the version where it was.
@Suite(.serialized) struct ControlPortTests {
    var seq: UInt64 = 0

    mutating func push(_ c: ControlledLoop, _ code: Int32, locate: UInt16 = 0, _ a0: UInt64 = 0, _ a1: UInt64 = 0) {
        seq += 1
        var e = omni_event()
        e.type = UInt8(OMNI_EV_COMMAND.rawValue)
        e.locate = locate
        e.seq = seq
        e.rx_tsc = csys_rdtsc()
        e.command.code = UInt32(code)
        e.command.arg.0 = a0
        e.command.arg.1 = a1
        #expect(cring_spsc_try_push(c.port.commands.raw, &e, 64) == 1)
    }

    func acks(_ c: ControlledLoop) -> [omni_event] {
        var out: [omni_event] = []
        var a = omni_event()
        while cring_spsc_try_pop(c.port.acks.raw, &a, 64) == 1 { out.append(a) }
        return out
    }

    func settle(_ c: ControlledLoop) {
        for _ in 0..<5 { c.touch(); c.iterate() }
    }

    @Test mutating func aParameterChangeIsAppliedAndAcknowledgedWithTheNextVersion() throws {
        let c = try ControlledLoop()
        settle(c)
        #expect(c.entry.venue.liveOrders == 4)
        push(c, Int32(OMNI_CMD_SET_PARAM), locate: 1, UInt64(OMNI_PARAM_SPREAD_TICKS), 5)
        c.iterate()
        let a = acks(c)
        try #require(a.count == 1)
        #expect(a[0].type == UInt8(OMNI_EV_COMMAND.rawValue) && a[0].command.code == UInt32(OMNI_CMD_ACK))
        #expect(a[0].seq == seq && a[0].locate == 1 && a[0].command.target == UInt32(OMNI_CMD_SET_PARAM))
        #expect(a[0].command.arg.0 == 2 && a[0].command.arg.1 == UInt64(OMNI_CMDR_APPLIED))
        var first = a[0]
        #expect(omni_event_hop_ticks(&first, 0) >= 1, "push -> applied stamped")
        #expect(c.loop.strategy.parameters(locate: 1)?.spreadTicks == 5)
        #expect(c.loop.strategy.parameters(locate: 2)?.spreadTicks == 2, "the other instrument keeps its own")
        // The same pass requoted AAPL at the new spread: 5 ticks either side of the mid.
        let r = ControlledLoop.specs[0].referencePrice
        var prices: [UInt32] = []
        c.loop.ledger.table.forEachOpen { if $0.locate == 1 { prices.append($0.pendingReplace ? $0.replacePrice : $0.price) } }
        #expect(prices.sorted() == [r - 500, r + 500])
        #expect(c.port.version == 2)
    }

    @Test mutating func refusedCommandsAreAcknowledgedWithoutAVersion() throws {
        let c = try ControlledLoop()
        settle(c)
        push(c, Int32(OMNI_CMD_SET_PARAM), locate: 9, UInt64(OMNI_PARAM_SIZE), 200)            // not traded
        push(c, Int32(OMNI_CMD_SET_PARAM), locate: 1, 99, 200)                                  // no such parameter
        push(c, Int32(OMNI_CMD_SET_PARAM), locate: 1, UInt64(OMNI_PARAM_SPREAD_TICKS), 0)      // below 1
        push(c, Int32(OMNI_CMD_SET_PARAM), locate: 1, UInt64(OMNI_PARAM_SIZE), UInt64(bitPattern: -100))
        push(c, Int32(OMNI_CMD_QUOTING), locate: 1, 2)                                           // neither on nor off
        push(c, Int32(OMNI_CMD_SET_LIMITS), locate: 1, 0, 100)                                   // max order quantity 0
        push(c, 42, locate: 1)
        push(c, Int32(OMNI_CMD_KILL_RESET))                                                      // not killed
        c.iterate()
        let a = acks(c)
        let expected: [Int] = [OMNI_CMDR_UNKNOWN_INSTRUMENT, OMNI_CMDR_UNKNOWN_PARAMETER, OMNI_CMDR_BAD_VALUE, OMNI_CMDR_BAD_VALUE,
                                 OMNI_CMDR_BAD_VALUE, OMNI_CMDR_BAD_VALUE, OMNI_CMDR_UNKNOWN_COMMAND, OMNI_CMDR_NOT_KILLED]
        #expect(a.map { Int($0.command.arg.1) } == expected)
        #expect(a.map(\.seq) == Array(1...UInt64(expected.count)), "one acknowledgement per command, in order")
        #expect(a.allSatisfy { $0.command.arg.0 == 1 } && c.port.version == 1)
        #expect(c.loop.strategy.parameters(locate: 1) == QuoteParameters(spreadTicks: 2, size: 100, skewShares: 100, maxPosition: 500))
        #expect(c.loop.risk.limits(instrument: 1)?.maxOrderQuantity == 1_000 && !c.loop.risk.isKilled)
    }

    @Test mutating func killResetQuotingOffAndLimitsReachTheVenueAndRisk() throws {
        let c = try ControlledLoop()
        settle(c)
        push(c, Int32(OMNI_CMD_KILL))
        settle(c)
        #expect(c.loop.risk.isKilled && c.entry.venue.liveOrders == 0, "the venue holds none of our orders")
        let sent = c.loop.counters.requests
        settle(c)
        #expect(c.loop.counters.requests == sent, "nothing sent while killed")
        usleep(2_000) // a person resets later than risk's 1 ms duplicate window: the same quotes again are not duplicates
        push(c, Int32(OMNI_CMD_KILL_RESET))
        settle(c)
        #expect(!c.loop.risk.isKilled && c.entry.venue.liveOrders == 4, "quoting again after the reset; risk refused \(c.loop.risk.refusalsByReason)")
        push(c, Int32(OMNI_CMD_QUOTING), locate: 2, 0)
        settle(c)
        #expect(!c.loop.isQuoting(2) && c.loop.isQuoting(1))
        var open: [UInt16] = []
        c.loop.ledger.table.forEachOpen { open.append($0.locate) }
        #expect(open.sorted() == [1, 1] && c.entry.venue.liveOrders == 2, "MSFT's orders canceled at the venue")
        push(c, Int32(OMNI_CMD_SET_LIMITS), locate: 1, 50, 300)
        push(c, Int32(OMNI_CMD_SET_PARAM), locate: 1, UInt64(OMNI_PARAM_SIZE), 60)
        settle(c)
        let l = try #require(c.loop.risk.limits(instrument: 1))
        #expect(l.maxOrderQuantity == 50 && l.maxLong == 300 && l.maxShort == 300 && l.maxOrderValue == 100_000_000_000)
        #expect(c.loop.risk.refusals(.orderQuantity) > 0, "60 shares per quote is above the new 50-share limit")
        let versions = acks(c).map(\.command.arg.0)
        #expect(versions == [2, 3, 4, 5, 6])
    }

    @Test func theSnapshotShowsTheLoop() throws {
        let c = try ControlledLoop()
        for _ in 0..<5 { c.touch(); c.iterate() }
        let s = c.port.snapshot.read()
        #expect(s.summary.publishedNs != 0 && s.summary.configVersion == 1 && s.summary.openOrders == 4 && s.summary.killReason == 0)
        #expect(s.instruments.map(\.locate) == [1, 2] && s.instruments.allSatisfy { $0.quoting && $0.workingBuy == 100 && $0.workingSell == 100 })
        #expect(s.instruments[0].parameters?.size == 100 && s.instruments[0].limits?.maxOrderQuantity == 1_000)
        let r = ControlledLoop.specs[0].referencePrice
        #expect(s.instruments[0].bid == r - 100 && s.instruments[0].ask == r + 100)
        #expect(s.refusals.count == RiskCheck.allCases.count && s.refusals.allSatisfy { $0 == 0 })
    }

    /// A writer publishing as fast as it can and a reader copying as fast as it can: every copy
    /// is one publication (every field written with the same number), never a mix of two.
    @Test func theSeqlockNeverHandsOutATornCopy() throws {
        let b = SnapshotBuffer(instruments: 8)
        let box = Unmanaged.passRetained(b)
        var t = pthread_t()
        pthread_create(&t, nil, { arg in
            let b = Unmanaged<SnapshotBuffer>.fromOpaque(arg!).takeRetainedValue()
            var k: UInt64 = 1
            while k < 2_000_000 {
                b.beginWrite()
                b.summary.pointee.configVersion = k
                b.summary.pointee.publishedNs = k
                b.summary.pointee.instruments = 8
                for i in 0..<8 { b.instruments[i].fills = k; b.instruments[i].position = Int64(k) }
                for j in 0..<SnapshotBuffer.checks { b.refusals[j] = k }
                b.endWrite()
                k += 1
            }
            return nil
        }, box.toOpaque())
        var reads = 0, torn = 0, last: UInt64 = 0, backwards = 0
        while reads < 200_000 {
            let s = b.read()
            reads += 1
            let k = s.summary.configVersion
            if k < last { backwards += 1 }
            last = k
            guard k > 0 else { continue }
            if s.summary.publishedNs != k || s.instruments.count != 8 || !s.instruments.allSatisfy({ $0.fills == k && $0.position == Int64(k) })
                || !s.refusals.allSatisfy({ $0 == k }) { torn += 1 }
        }
        pthread_join(t, nil)
        #expect(torn == 0 && backwards == 0, "\(torn) torn copies, \(backwards) going back, in \(reads)")
        #expect(last > 0, "the reader saw publications")
    }
}
