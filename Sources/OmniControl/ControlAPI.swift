import Foundation
import OmniRisk
import OmniStrategy
import OmniTrading

// The JSON bodies of the control plane's REST API (keys in snake_case, as /openapi.json says).
// Money is in dollars for reading (the loop counts in ITCH units × shares, $1 = 10_000).

struct ErrorBody: Codable { var error: String }

struct Health: Codable { var status: String; var loop: String; var configVersion: UInt64 }

struct InstrumentQuoting: Codable { var symbol: String; var quoting: Bool }
struct StrategyBody: Codable { var name: String; var parameters: [String]; var instruments: [InstrumentQuoting] }
struct Strategies: Codable { var configVersion: UInt64; var strategies: [StrategyBody] }

struct InstrumentParams: Codable {
    var symbol: String
    var quoting: Bool
    var spreadTicks: UInt32?
    var size: UInt32?
    var skewShares: Int64?
    var maxPosition: Int64
    var configVersion: UInt64
}

struct InstrumentLimitsBody: Codable {
    var symbol: String
    var maxOrderQty: UInt32
    var maxPosition: Int64
    /// A raise waiting to revert (absent: none).
    var override: LimitOverrideBody?
}
struct LimitOverrideBody: Codable {
    var expiresAt: String, expiresInS: Int64
    /// The limits it reverts to at expiry (or lower, where a later change put them lower).
    var revertsToMaxOrderQty: UInt32, revertsToMaxPosition: Int64
    var by: String
}
struct Limits: Codable { var configVersion: UInt64; var instruments: [InstrumentLimitsBody] }

struct KillState: Codable { var killed: Bool; var reason: String?; var configVersion: UInt64 }

struct PositionBody: Codable {
    var symbol: String
    var position: Int64
    var boughtShares: UInt64
    var soldShares: UInt64
    var fills: UInt64
    var workingBuy: Int64
    var workingSell: Int64
}
struct Positions: Codable { var configVersion: UInt64; var instruments: [PositionBody] }

struct Orders: Codable {
    var openOrders: UInt64
    var requests: UInt64
    var refusedByRisk: UInt64
    var notSent: UInt64
    var venueRejected: UInt64
    var fills: UInt64
    /// Risk's refusals by check, every check named.
    var rejectsByReason: [String: UInt64]
    /// Each open order as the order journal shows it (its last answer from the venue).
    var open: [OpenOrderBody]
    /// Order events the journal's ring had no room for (the control plane fell behind): the open
    /// orders and the store may miss them; the counts above do not.
    var journalDropped: UInt64
    /// Order events read off the journal that the store never got (it failed, or fell behind): logged, counted here.
    var notStored: UInt64
}
struct OpenOrderBody: Codable {
    var symbol: String
    var clientOrderId: UInt64
    var side: String
    /// Dollars.
    var price: Double
    var shares: UInt32
    /// pending new, live, pending cancel, pending replace.
    var state: String
}

/// The last executions (at most 256), oldest first.
struct Fills: Codable { var fills: [FillBody] }
/// One execution of ours: in GET /v1/fills and, as it happens, on the stream.
struct FillBody: Codable {
    var type = "fill"
    /// When the control plane read it off the journal.
    var at: String
    var symbol: String
    var clientOrderId: UInt64
    var side: String
    /// Dollars.
    var price: Double
    var shares: UInt32, leaves: UInt32
    var liquidity: String
    var matchNumber: UInt64

    init(_ r: OrderEventRecord) {
        at = timestamp(r.at); symbol = r.symbol; clientOrderId = r.clientOrderID; side = r.side; price = dollars(Int64(r.price)); shares = r.shares
        leaves = r.leaves; liquidity = r.liquidity; matchNumber = r.matchNumber
    }
}

struct PnLBody: Codable { var symbol: String; var realised: Double; var unrealised: Double; var fees: Double; var net: Double }
struct PnLTotal: Codable { var realised: Double; var unrealised: Double; var fees: Double; var net: Double }
struct PnL: Codable { var instruments: [PnLBody]; var total: PnLTotal }

struct Feed: Codable {
    var lastPacketAgeMs: Double?
    var stale: Bool
    var gatewayUp: Bool
    var packets: UInt64
    var delivered: UInt64
    var messagesPerSecond: Double
    var gapsOpened: UInt64
    var gapsFilled: UInt64
    var gapsLost: UInt64
}

/// One instrument's touch and our best quote on it; a price is absent where that side is empty.
struct QuoteBody: Codable {
    var symbol: String
    var quoting: Bool
    /// The touch's prices (the loop's snapshot has no depth and no sizes).
    var bid: Double?, ask: Double?
    /// Our best order on each side: its price and the shares it has left (0 with no order).
    var ourBid: Double?, ourBidShares: UInt32
    var ourAsk: Double?, ourAskShares: UInt32
}
struct Quotes: Codable { var configVersion: UInt64; var instruments: [QuoteBody] }

struct Percentiles: Codable { var p50Ns: UInt64; var p99Ns: UInt64; var count: UInt64 }
struct Latency: Codable { var tickToTrade: Percentiles; var commandApplied: Percentiles }

struct Alerts: Codable { var alerts: [Alert] }

struct Status: Codable {
    var configVersion: UInt64
    var killed: Bool
    var killReason: String?
    var openOrders: UInt64
    var fills: UInt64
    var netPnl: Double
    var tickToTradeP50Ns: UInt64
    var tickToTradeP99Ns: UInt64
    var feedStale: Bool
    var gatewayUp: Bool
}

extension KillReason {
    var name: String {
        switch self {
        case .command: "command"
        case .dailyLoss: "daily_loss"
        case .signal: "signal"
        case .disconnect: "disconnect"
        case .staleFeed: "stale_feed"
        }
    }
}

extension RiskCheck {
    /// The check's name as an API key ("order quantity" -> "order_quantity").
    var key: String { String(description.map { $0 == " " ? "_" : $0 }) }
}

/// ITCH units × shares -> dollars, for reading.
func dollars(_ v: Int64) -> Double { Double(v) / 10_000 }

/// An ITCH price in dollars; nil for 0 (no price: that side is empty).
func priceDollars(_ v: UInt32) -> Double? { v == 0 ? nil : dollars(Int64(v)) }
/// A time as the API writes it: UTC, ISO 8601 with milliseconds ("2026-12-05T09:30:00.125Z").
func timestamp(_ d: Date) -> String { d.formatted(apiTime) }
/// One format style for every timestamp (a value: no formatter made per alert or override).
private let apiTime = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
