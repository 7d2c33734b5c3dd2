// Views over parsed FIX messages, outbound message values, and FIX time stamps.
import CWire
#if canImport(Glibc)
import Glibc
#endif

/// Zero-copy view of one parsed message (valid until the receive buffer moves on).
public struct FixView {
    let fields: UnsafePointer<cw_fix_field>
    let count: Int

    func index(_ tag: UInt32) -> Int? {
        for i in 0..<count where fields[i].tag == tag { return i }
        return nil
    }
    public func has(_ tag: UInt32) -> Bool { index(tag) != nil }
    public func string(_ tag: UInt32) -> String? {
        guard let i = index(tag) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: fields[i].val, count: Int(fields[i].len)), as: UTF8.self)
    }
    /// Single-character value (Side, OrdType, ...); nil when absent or longer than one byte.
    public func char(_ tag: UInt32) -> UInt8? {
        guard let i = index(tag), fields[i].len == 1 else { return nil }
        return fields[i].val[0]
    }
    public func int(_ tag: UInt32) -> Int64? {
        guard let i = index(tag) else { return nil }
        var v: UInt64 = 0
        guard cw_fix_u64(fields[i].val, fields[i].len, &v) == 1, v <= UInt64(Int64.max) else { return nil }
        return Int64(v)
    }
    public enum Price: Equatable { case missing, invalid, value(Int64) }
    public func price(_ tag: UInt32) -> Price {
        guard let i = index(tag) else { return .missing }
        var v: Int64 = 0
        return cw_fix_price4(fields[i].val, fields[i].len, &v) == 1 ? .value(v) : .invalid
    }
    public var msgType: String? { string(35) }
    /// Every field as (tag, value), for logs and tests.
    public var all: [(UInt32, String)] {
        (0..<count).map { (fields[$0].tag, String(decoding: UnsafeBufferPointer(start: fields[$0].val, count: Int(fields[$0].len)), as: UTF8.self)) }
    }
}

public enum FixValue: Sendable, Equatable {
    case string(String)
    case int(Int64)
    case price(Int64)   // 4 implied decimals
    case char(UInt8)
}

/// An outbound message body; the session adds the standard header and trailer.
public struct FixOut: Sendable, Equatable {
    public var msgType: String
    public var fields: [(tag: UInt32, value: FixValue)] = []
    public init(msgType: String) { self.msgType = msgType; fields.reserveCapacity(20) }
    public mutating func add(_ tag: UInt32, _ s: String) { fields.append((tag, .string(s))) }
    public mutating func addInt(_ tag: UInt32, _ v: Int64) { fields.append((tag, .int(v))) }
    public mutating func addPrice(_ tag: UInt32, _ v: Int64) { fields.append((tag, .price(v))) }
    public mutating func addChar(_ tag: UInt32, _ c: UInt8) { fields.append((tag, .char(c))) }
    public static func == (a: FixOut, b: FixOut) -> Bool {
        a.msgType == b.msgType && a.fields.count == b.fields.count && zip(a.fields, b.fields).allSatisfy { $0.tag == $1.tag && $0.value == $1.value }
    }
}

public typealias FixOutbox = [FixOut]

/// What an application says about one inbound application message.
public enum FixAppVerdict: Sendable, Equatable {
    case accepted
    /// Session-level Reject (3): SessionRejectReason 373, RefTagID 371.
    case reject(reason: Int, tag: UInt32, text: String)
    static func missing(_ tag: UInt32) -> FixAppVerdict { .reject(reason: 1, tag: tag, text: "Required tag missing") }
}

public protocol FixApplication: AnyObject {
    /// One inbound application message, in sequence. Replies go into `out`.
    func fromApp(_ m: FixView, peer: String, out: inout FixOutbox) -> FixAppVerdict
    /// Acceptor only: the counterparty `peer` completed its Logon (our Logon answer is sent).
    func loggedOn(peer: String)
    /// Acceptor only: the logged-on session of `peer` ended (Logout, disconnect, timeout).
    /// Called once per `loggedOn`, after the session left the acceptor's logged-on set.
    func sessionEnded(peer: String)
}

extension FixApplication {
    public func loggedOn(peer: String) {}
    public func sessionEnded(peer: String) {}
}

extension cw_fix_builder {
    mutating func add(_ tag: UInt32, _ s: String) {
        var s = s
        s.withUTF8 { cw_fix_add(&self, tag, $0.baseAddress, $0.count) }
    }
    mutating func add(_ tag: UInt32, _ v: FixValue) {
        switch v {
        case .string(let s): add(tag, s)
        case .int(let i):
            if i >= 0 { cw_fix_add_u64(&self, tag, UInt64(i)) } else { add(tag, String(i)) }
        case .price(let p): cw_fix_add_price4(&self, tag, p)
        case .char(let c): var c = c; cw_fix_add(&self, tag, &c, 1)
        }
    }
}

public enum FixClock {
    /// UTC "YYYYMMDD-HH:MM:SS.sss" (SendingTime 52, TransactTime 60).
    public static func sendingTime() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var tmv = tm()
        gmtime_r(&t, &tmv)
        func d(_ v: Int32, _ w: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, w - s.count)) + s }
        return d(tmv.tm_year + 1900, 4) + d(tmv.tm_mon + 1, 2) + d(tmv.tm_mday, 2) + "-" + d(tmv.tm_hour, 2) + ":" + d(tmv.tm_min, 2) + ":"
            + d(tmv.tm_sec, 2) + "." + d(Int32(ts.tv_nsec / 1_000_000), 3)
    }
    static func monotonicNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
