/// A price as ITCH carries it: an integer count of 1/10000 dollar.
/// No floating point ever decides a price; `description` is for people only.
public struct Price: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let scale: Int64 = 10_000
    public var raw: Int64

    @inlinable public init(raw: Int64) { self.raw = raw }
    @inlinable public init(itch: UInt32) { self.raw = Int64(itch) }

    /// Parses "123.45" (up to 4 decimals, FixedPoint's rules); nil when the text is not a price.
    public init?(_ text: some StringProtocol) {
        guard let v = FixedPoint.parse(text, decimals: 4) else { return nil }
        raw = Int64(v) // at most 12 whole digits: far inside Int64
    }

    @inlinable public static func < (a: Price, b: Price) -> Bool { a.raw < b.raw }

    /// "123.4500": always 4 decimals.
    public var description: String { text(minimumDecimals: 4) }

    /// The price with its trailing zeros dropped down to `minimumDecimals` (0...4): "200.00",
    /// "200.05", "0.0001" at 2. The one price formatter.
    public func text(minimumDecimals: Int) -> String {
        let m = raw.magnitude
        var frac = String(m % 10_000)
        frac = String(repeating: "0", count: 4 - frac.count) + frac
        while frac.count > max(0, minimumDecimals) && frac.hasSuffix("0") { frac.removeLast() }
        return "\(raw < 0 ? "-" : "")\(m / 10_000)" + (frac.isEmpty ? "" : ".\(frac)")
    }
}

/// Non-negative decimals as integers: "200", "200.5", "0.0001" read as a count of
/// 10^-decimals. The one decimal parser of prices, amounts and durations that people type
/// (configuration files and the command line); wire formats have theirs in CWire.
public enum FixedPoint {
    /// nil unless plain ASCII digits, at most one dot with digits on both sides, at most
    /// `decimals` (0...6) places and at most 12 whole digits (so the result never overflows).
    public static func parse(_ s: some StringProtocol, decimals: Int) -> UInt64? {
        guard (0...6).contains(decimals) else { return nil }
        let parts = s.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, (1...12).contains(whole.count) else { return nil }
        let frac = parts.count == 2 ? parts[1] : whole[whole.endIndex...]
        guard frac.count <= decimals, parts.count == 1 || !frac.isEmpty else { return nil }
        var v: UInt64 = 0
        for c in whole { guard c >= 48 && c <= 57 else { return nil }; v = v * 10 + UInt64(c - 48) }
        for c in frac { guard c >= 48 && c <= 57 else { return nil }; v = v * 10 + UInt64(c - 48) }
        for _ in frac.count..<decimals { v *= 10 }
        return v
    }
}

/// A share count.
public typealias Quantity = UInt64

public enum Side: UInt8, Sendable {
    case bid = 0
    case ask = 1

    /// ITCH's buy/sell indicator: 'B' or 'S'.
    @inlinable public init?(itch byte: UInt8) {
        switch byte {
        case UInt8(ascii: "B"): self = .bid
        case UInt8(ascii: "S"): self = .ask
        default: return nil
        }
    }
}

/// The stock locate code ITCH assigns each instrument for the day (1...65535).
public typealias Locate = UInt16

/// Nanoseconds since midnight (US/Eastern for NASDAQ), as carried by ITCH.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var nanoseconds: UInt64
    @inlinable public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }
    @inlinable public static func < (a: Timestamp, b: Timestamp) -> Bool { a.nanoseconds < b.nanoseconds }

    /// HH:MM:SS.nnnnnnnnn
    public var description: String {
        let ns = nanoseconds % 1_000_000_000
        let s = nanoseconds / 1_000_000_000
        func pad(_ v: UInt64, _ w: Int) -> String {
            let t = String(v)
            return String(repeating: "0", count: max(0, w - t.count)) + t
        }
        return "\(pad(s / 3600, 2)):\(pad(s / 60 % 60, 2)):\(pad(s % 60, 2)).\(pad(ns, 9))"
    }
}
