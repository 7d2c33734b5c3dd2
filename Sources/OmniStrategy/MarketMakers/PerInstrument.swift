/// One quoter per instrument, found by locate: the per-instrument parameters and state (σ, the
/// fill-intensity fit, the clock) live in each quoter. Sized at init for locates below
/// `locateCapacity`; a locate without a quoter (or beyond the table) quotes nothing: an
/// instrument nobody configured is not traded.
public struct PerInstrument<Quoter: Strategy>: Strategy {
    @usableFromInline var quoters: [Quoter?]

    public init(locateCapacity: Int, _ configured: [(locate: UInt16, quoter: Quoter)] = []) {
        precondition(locateCapacity > 0 && locateCapacity <= 65_536, "PerInstrument: 0 < locateCapacity <= 65536")
        quoters = [Quoter?](repeating: nil, count: locateCapacity)
        for (locate, q) in configured {
            precondition(Int(locate) < locateCapacity, "PerInstrument: locate \(locate) beyond capacity \(locateCapacity)")
            quoters[Int(locate)] = q
        }
    }

    /// The quoter of `locate` (nil: none), to read or change in place (σ, calibration, clock).
    /// Setting a locate beyond the capacity is refused with a precondition (the table never grows).
    @inlinable
    public subscript(locate: UInt16) -> Quoter? {
        get { Int(locate) < quoters.count ? quoters[Int(locate)] : nil }
        _modify {
            precondition(Int(locate) < quoters.count, "PerInstrument: locate \(locate) beyond capacity \(quoters.count)")
            yield &quoters[Int(locate)]
        }
        set {
            precondition(Int(locate) < quoters.count, "PerInstrument: locate \(locate) beyond capacity \(quoters.count)")
            quoters[Int(locate)] = newValue
        }
    }

    @inlinable
    public mutating func quote(locate: UInt16, bid: UInt32, ask: UInt32, position: Int64) -> QuoteTarget {
        let i = Int(locate)
        guard i < quoters.count else { return .none }
        return quoters[i]?.quote(locate: locate, bid: bid, ask: ask, position: position) ?? .none
    }

    public mutating func set(_ parameter: QuoteParameter, to value: Int64, locate: UInt16) -> Bool {
        guard Int(locate) < quoters.count, quoters[Int(locate)] != nil else { return false }
        return quoters[Int(locate)]!.set(parameter, to: value, locate: locate)
    }

    public func parameters(locate: UInt16) -> QuoteParameters? {
        Int(locate) < quoters.count ? quoters[Int(locate)]?.parameters(locate: locate) : nil
    }
}
