/// A price as ITCH carries it: an integer count of 1/10000 dollar.
/// No floating point ever decides a price; `description` is for people only.
public struct Price: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let scale: Int64 = 10_000
    public var raw: Int64

    @inlinable public init(raw: Int64) { self.raw = raw }
    @inlinable public init(itch: UInt32) { self.raw = Int64(itch) }

    /// Parses "123.45" (up to 4 decimals); nil when the text is not a price.
    public init?(_ text: Substring) {
        var whole: Int64 = 0, frac: Int64 = 0, fracDigits = 0, seenDot = false, digits = 0
        for ch in text.utf8 {
            if ch == UInt8(ascii: ".") {
                if seenDot { return nil }
                seenDot = true
            } else if ch >= 48 && ch <= 57 {
                let d = Int64(ch - 48)
                digits += 1
                if seenDot {
                    guard fracDigits < 4 else { return nil }
                    frac = frac * 10 + d
                    fracDigits += 1
                } else {
                    guard whole < Int64.max / 100_000 else { return nil }
                    whole = whole * 10 + d
                }
            } else {
                return nil
            }
        }
        guard digits > 0 else { return nil }
        for _ in fracDigits..<4 { frac *= 10 }
        raw = whole * Price.scale + frac
    }

    @inlinable public static func < (a: Price, b: Price) -> Bool { a.raw < b.raw }

    public var description: String {
        let sign = raw < 0 ? "-" : ""
        let m = raw.magnitude
        let frac = String(m % 10_000)
        return "\(sign)\(m / 10_000).\(String(repeating: "0", count: 4 - frac.count))\(frac)"
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
