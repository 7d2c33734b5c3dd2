/// An instrument symbol as it travels in ITCH: 8 ASCII bytes, space padded.
public struct Symbol: Hashable, Sendable, CustomStringConvertible {
    /// The 8 wire bytes packed little-endian into one word: compares and hashes in one instruction.
    public let word: UInt64

    @inlinable public init(word: UInt64) { self.word = word }

    /// From the 8 wire bytes at `p`.
    @inlinable public init(wire p: UnsafeRawPointer) { word = p.loadUnaligned(as: UInt64.self) }

    /// From text: 1 to 8 printable ASCII characters; nil otherwise.
    public init?(_ text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard (1...8).contains(bytes.count), bytes.allSatisfy({ $0 > 32 && $0 < 127 }) else { return nil }
        var w: UInt64 = 0
        for i in 0..<8 {
            let b = i < bytes.count ? bytes[i] : UInt8(ascii: " ")
            w |= UInt64(b) << (8 * UInt64(i))
        }
        word = w
    }

    /// The 8 wire bytes, space padded.
    public var wireBytes: [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: word >> (8 * UInt64($0))) } }

    /// Without the padding.
    public var description: String {
        var bytes = wireBytes
        while let last = bytes.last, last == UInt8(ascii: " ") || last == 0 { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }
}
