// Views over parsed FIX messages, outbound message values, and FIX time stamps.
import CSys
import CWire
#if canImport(Glibc)
import Glibc
#endif

/// Zero-copy view of one parsed message (valid until the receive buffer moves on).
public struct FixView {
    package let fields: UnsafePointer<cw_fix_field>
    package let count: Int

    /// The fields `cw_fix_parse` filled (valid while their buffer is).
    public init(fields: UnsafePointer<cw_fix_field>, count: Int) { self.fields = fields; self.count = count }

    package func index(_ tag: UInt32) -> Int? {
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
    /// MsgType when it is one byte (every message this layer handles), else nil.
    public var msgTypeByte: UInt8? { char(35) }
    /// The value as an inline FixString: .missing, .tooLong (over FixString.capacity), or the value.
    public enum Identifier: Equatable { case missing, tooLong, value(FixString) }
    public func identifier(_ tag: UInt32) -> Identifier {
        guard let i = index(tag) else { return .missing }
        guard let v = FixString(UnsafeRawBufferPointer(start: fields[i].val, count: Int(fields[i].len))) else { return .tooLong }
        return .value(v)
    }
    /// True when the field is present and its bytes are `s`'s UTF-8 (no String made).
    public func equals(_ tag: UInt32, _ str: String?) -> Bool {
        guard var s = str, let i = index(tag) else { return false }
        let len = Int(fields[i].len)
        return s.withUTF8 { u in u.count == len && (len == 0 || memcmp(u.baseAddress!, fields[i].val, len) == 0) }
    }
    /// True when the field is present and contains byte `c` (multi-valued fields such as ExecInst 18).
    public func contains(_ tag: UInt32, byte c: UInt8) -> Bool {
        guard let i = index(tag) else { return false }
        for k in 0..<Int(fields[i].len) where fields[i].val[k] == c { return true }
        return false
    }
    /// Every field as (tag, value), for logs and tests.
    public var all: [(UInt32, String)] {
        (0..<count).map { (fields[$0].tag, String(decoding: UnsafeBufferPointer(start: fields[$0].val, count: Int(fields[$0].len)), as: UTF8.self)) }
    }
}

/// Inline storage of FixOut's encoded body (1 KiB).
package struct FixOutBody: @unchecked Sendable {
    package var t: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
            UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
            UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
            UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
            UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
            UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
            UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
            UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
    package init() { t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) }
    package static let capacity = 1024
}

/// An outbound message body; the session adds the standard header and trailer. Each add
/// encodes its field at once ("tag=value<SOH>") into 1 KiB of inline storage: no heap. A body
/// that outgrows it is marked overflowed and the session drops it (counted in its events).
public struct FixOut: Sendable, Equatable {
    public var msgType: String
    package var body = FixOutBody()
    public private(set) var bodyCount = 0
    public private(set) var overflowed = false
    public init(msgType: String) { self.msgType = msgType }

    package mutating func encode(_ f: (inout cw_fix_builder) -> Void) {
        let at = bodyCount
        var over = overflowed
        let end = withUnsafeMutableBytes(of: &body.t) { raw -> Int in
            var b = cw_fix_builder()
            b.buf = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            b.cap = raw.count + 7  // cw_fix_add keeps 7 bytes for a trailer this body does not carry
            b.len = at
            b.overflow = over ? 1 : 0
            f(&b)
            over = b.overflow != 0
            return b.len
        }
        overflowed = over
        if !over { bodyCount = end }
    }
    public mutating func add(_ tag: UInt32, _ s: String) { encode { $0.add(tag, s) } }
    public mutating func add(_ tag: UInt32, _ s: FixString) { encode { b in s.withBytes { cw_fix_add(&b, tag, $0.baseAddress?.assumingMemoryBound(to: UInt8.self), $0.count) } } }
    public mutating func addInt(_ tag: UInt32, _ v: Int64) {
        encode { b in
            if v >= 0 { cw_fix_add_u64(&b, tag, UInt64(v)) } else { cw_fix_add_i64(&b, tag, v) }
        }
    }
    /// Sequence numbers and other counts that are UInt64 on our side (no Int64 conversion to trap).
    public mutating func addUInt(_ tag: UInt32, _ v: UInt64) { encode { cw_fix_add_u64(&$0, tag, v) } }
    public mutating func addPrice(_ tag: UInt32, _ v: Int64) { encode { cw_fix_add_price4(&$0, tag, v) } }
    public mutating func addChar(_ tag: UInt32, _ c: UInt8) { encode { b in var c = c; cw_fix_add(&b, tag, &c, 1) } }
    /// UTC now as "YYYYMMDD-HH:MM:SS.sss" (SendingTime / TransactTime), written without a String.
    public mutating func addTimestamp(_ tag: UInt32) { encode { $0.addTimestamp(tag) } }

    /// The encoded body ("tag=value<SOH>" per field, in add order).
    public func withBody<R>(_ f: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: body.t) { try f(UnsafeRawBufferPointer(rebasing: $0[0..<bodyCount])) }
    }
    /// The fields as (tag, value) in add order, for tests and logs (allocates).
    public var fields: [(tag: UInt32, value: String)] {
        withBody { raw in
            raw.split(separator: 1).compactMap { f in
                guard let eq = f.firstIndex(of: 61), let tag = UInt32(String(decoding: f[f.startIndex..<eq], as: UTF8.self)) else { return nil }
                return (tag, String(decoding: f[(eq + 1)...], as: UTF8.self))
            }
        }
    }
    public static func == (a: FixOut, b: FixOut) -> Bool {
        a.msgType == b.msgType && a.overflowed == b.overflowed && a.bodyCount == b.bodyCount
            && a.withBody { x in b.withBody { y in x.elementsEqual(y) } }
    }
}

public typealias FixOutbox = [FixOut]

/// What an application says about one inbound application message.
public enum FixAppVerdict: Sendable, Equatable {
    case accepted
    /// Session-level Reject (3): SessionRejectReason 373, RefTagID 371.
    case reject(reason: Int, tag: UInt32, text: String)
    package static func missing(_ tag: UInt32) -> FixAppVerdict { .reject(reason: 1, tag: tag, text: "Required tag missing") }
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
    package mutating func add(_ tag: UInt32, _ s: String) {
        var s = s
        s.withUTF8 { cw_fix_add(&self, tag, $0.baseAddress, $0.count) }
    }
    package mutating func addChar(_ tag: UInt32, _ c: UInt8) { var c = c; cw_fix_add(&self, tag, &c, 1) }
    /// UTC now, "YYYYMMDD-HH:MM:SS.sss", formatted into stack bytes.
    package mutating func addTimestamp(_ tag: UInt32) {
        var t: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &t) { raw in
            let p = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let n = FixClock.writeSendingTime(p)
            cw_fix_add(&self, tag, p, n)
        }
    }
}

public enum FixClock {
    /// UTC "YYYYMMDD-HH:MM:SS.sss" (SendingTime 52, TransactTime 60).
    public static func sendingTime() -> String {
        var t: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &t) { raw in
            let n = writeSendingTime(raw.baseAddress!.assumingMemoryBound(to: UInt8.self))
            return String(decoding: UnsafeRawBufferPointer(rebasing: raw[0..<n]), as: UTF8.self)
        }
    }
    /// Writes the current UTC time as "YYYYMMDD-HH:MM:SS.sss" to `p` (21 bytes); returns 21.
    public static func writeSendingTime(_ p: UnsafeMutablePointer<UInt8>) -> Int {
        cw_fix_utc_timestamp(p, csys_realtime_ns())
    }
}
