import CWire
import OmniCore

/// Locate ↔ symbol for the day, as announced by Stock Directory (R) messages,
/// and each instrument's trading state from Trading Action (H) messages.
public struct StockDirectory {
    private var symbols = [Symbol?](repeating: nil, count: 1 << 16)
    private var locates: [Symbol: Locate] = [:]
    /// ITCH trading state per locate: 'H' halted, 'P' paused, 'Q' quotation only, 'T' trading; 0 = not announced.
    public private(set) var tradingState = [UInt8](repeating: 0, count: 1 << 16)
    public private(set) var count = 0

    public init() {}

    public subscript(locate: Locate) -> Symbol? { symbols[Int(locate)] }
    public func locate(of symbol: Symbol) -> Locate? { locates[symbol] }

    /// Records an R message (39 bytes, already validated).
    mutating func record(directory m: UnsafePointer<UInt8>) {
        let locate = cw_itch_locate(m)
        let symbol = Symbol(wire: UnsafeRawPointer(m + 11))
        if symbols[Int(locate)] == nil { count += 1 }
        symbols[Int(locate)] = symbol
        locates[symbol] = locate
    }

    /// Records an H message (25 bytes, already validated).
    mutating func record(tradingAction m: UnsafePointer<UInt8>) {
        tradingState[Int(cw_itch_locate(m))] = m[19]
    }
}
