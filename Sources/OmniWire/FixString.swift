// A FIX identifier value (ClOrdID, OrigClOrdID, OrderID, ExecID, Symbol) held inline: up to
// `FixString.capacity` bytes in four words, no heap storage, so decoding an order and encoding
// its reports allocate nothing. A longer value from a peer is refused by the decoder (Reject 3
// with SessionRejectReason 5 and RefTagID), never truncated.

public struct FixString: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral, ExpressibleByStringInterpolation {
    public static let capacity = 32
    package var w: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)   // bytes past `count` stay zero
    public private(set) var count: Int = 0

    public init() {}

    /// nil when `bytes` is longer than `capacity`.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count <= Self.capacity else { return nil }
        count = bytes.count
        withUnsafeMutableBytes(of: &w) { $0.copyMemory(from: bytes) }
    }

    /// nil when `s` is longer than `capacity` bytes of UTF-8.
    public init?(_ s: String) {
        var s = s
        guard let v = s.withUTF8({ FixString(UnsafeRawBufferPointer($0)) }) else { return nil }
        self = v
    }

    /// Literals in code: a literal longer than `capacity` is a programming error (trap).
    public init(stringLiteral s: String) {
        guard let v = FixString(s) else { preconditionFailure("FixString literal longer than \(Self.capacity) bytes") }
        self = v
    }

    public var isEmpty: Bool { count == 0 }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: w) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }

    public var description: String { withBytes { String(decoding: $0, as: UTF8.self) } }

    public static func == (a: FixString, b: FixString) -> Bool {
        a.count == b.count && a.w.0 == b.w.0 && a.w.1 == b.w.1 && a.w.2 == b.w.2 && a.w.3 == b.w.3
    }
    public static func == (a: FixString, b: String) -> Bool { a.description == b }
    public static func == (a: String, b: FixString) -> Bool { b.description == a }

    public func hash(into h: inout Hasher) {
        h.combine(count); h.combine(w.0); h.combine(w.1); h.combine(w.2); h.combine(w.3)
    }

    /// Appends `bytes`; false (self unchanged) when they do not fit.
    @discardableResult
    package mutating func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard count + bytes.count <= Self.capacity else { return false }
        let at = count
        withUnsafeMutableBytes(of: &w) { UnsafeMutableRawBufferPointer(rebasing: $0[at..<(at + bytes.count)]).copyMemory(from: bytes) }
        count += bytes.count
        return true
    }

    /// "O\(n)" builds the value in place, without a String. Overflowing `capacity` traps, as a
    /// too-long literal does: ids the code makes up must fit.
    public struct StringInterpolation: StringInterpolationProtocol {
        var value = FixString()
        public init(literalCapacity: Int, interpolationCount: Int) {}
        mutating func put(_ b: UnsafeRawBufferPointer) {
            precondition(value.append(b), "FixString longer than \(FixString.capacity) bytes")
        }
        public mutating func appendLiteral(_ s: String) { var s = s; s.withUTF8 { put(UnsafeRawBufferPointer($0)) } }
        public mutating func appendInterpolation(_ s: String) { appendLiteral(s) }
        public mutating func appendInterpolation(_ s: FixString) { s.withBytes { put($0) } }
        public mutating func appendInterpolation<I: BinaryInteger>(_ v: I) {
            var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)   // 24 bytes: a sign and 20 digits fit
            let n = withUnsafeMutableBytes(of: &digits) { d -> Int in
                var u = v.magnitude
                var i = d.count
                repeat { i -= 1; d[i] = UInt8(truncatingIfNeeded: 48 + u % 10); u /= 10 } while u != 0
                if v < 0 { i -= 1; d[i] = 45 }
                return i
            }
            withUnsafeBytes(of: digits) { put(UnsafeRawBufferPointer(rebasing: $0[n...])) }
        }
    }

    public init(stringInterpolation: StringInterpolation) { self = stringInterpolation.value }
}
