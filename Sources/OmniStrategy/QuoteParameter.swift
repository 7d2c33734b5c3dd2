/// A quoting parameter a person may change while the loop runs (the control plane's SET_PARAM;
/// the raw values are omni_event.h's OMNI_PARAM_*): its name in the API and configuration files,
/// and the values it accepts (the run configuration's ranges).
public enum QuoteParameter: UInt32, CaseIterable, Sendable, CustomStringConvertible {
    case spreadTicks = 1, size = 2, skewShares = 3, maxPosition = 4

    public var name: String {
        switch self {
        case .spreadTicks: "spread_ticks"
        case .size: "size"
        case .skewShares: "skew_shares"
        case .maxPosition: "max_position"
        }
    }

    public var range: ClosedRange<Int64> {
        switch self {
        case .spreadTicks: 1...10_000
        case .size: 1...999_999
        case .skewShares, .maxPosition: 1...100_000_000
        }
    }

    public init?(name: String) {
        guard let p = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = p
    }

    public var description: String { name }
}

/// One instrument's quoting parameters as its strategy holds them.
public struct QuoteParameters: Sendable, Equatable {
    public var spreadTicks: UInt32
    public var size: UInt32
    public var skewShares: Int64
    public var maxPosition: Int64
    public init(spreadTicks: UInt32, size: UInt32, skewShares: Int64, maxPosition: Int64) {
        self.spreadTicks = spreadTicks; self.size = size; self.skewShares = skewShares; self.maxPosition = maxPosition
    }
}
