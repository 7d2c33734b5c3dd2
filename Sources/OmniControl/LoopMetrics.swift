import CoreMetrics
import OmniRisk
import OmniTrading
import Prometheus
import Synchronization

/// GET /metrics: the loop's published snapshot as Prometheus series, through swift-metrics (its
/// Counter and Meter, made by a swift-prometheus factory over a registry of this server's own,
/// never the process-wide bootstrap). Updated when scraped, from the snapshot the rest of the API
/// reads: the loop itself is never touched. The loop's totals become counters (each scrape adds
/// what the total grew by), its levels gauges (swift-metrics' Meter).
///
/// Series (money in dollars, times in ns):
///   omni_config_version, omni_loop_passes_total, omni_killed, omni_open_orders,
///   omni_feed_packets_total, omni_feed_messages_total (delivered in sequence to the books),
///   omni_feed_gaps_total{event=opened|filled|lost}, omni_feed_stale, omni_gateway_up,
///   omni_book_updates_total (an instrument's touch changed, as the loop took it: once per pass),
///   omni_order_requests_total (new, replace, cancel), omni_orders_sent_total, omni_orders_acknowledged_total,
///   omni_orders_rejected_total{reason=<risk check>|not_sent|venue},
///   omni_fills_total{symbol}, omni_position_shares{symbol}, omni_pnl_dollars{symbol,kind=realised|unrealised|fees|net},
///   omni_tick_to_trade_ns{quantile=0.5|0.99}, omni_tick_to_trade_count (the loop's percentiles, recomputed once a second),
///   omni_command_applied_ns{quantile=0.5|0.99}, omni_command_applied_count;
/// and the control plane's own: omni_control_rate_limited_total{token} (429s), omni_alerts_total{kind},
///   omni_stream_subscribers, omni_stream_dropped_total (too slow), omni_stream_refused_total (too many).
final class LoopMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    /// Each counter's total at the last scrape, by name and labels.
    let exported = Mutex<[String: UInt64]>([:])

    init() { factory = PrometheusMetricsFactory(registry: registry) }

    /// The Prometheus text of `s` (`commandApplied`: the control plane's own push -> applied percentiles, ns).
    func text(_ s: LoopSnapshot, symbols: [String], commandApplied: (p50: UInt64, p99: UInt64, count: UInt64), server: ServerCounts) -> String {
        exported.withLock { last in
            func counter(_ name: String, _ labels: [(String, String)], _ total: UInt64) {
                let key = name + labels.map { "|\($0.0)=\($0.1)" }.joined()
                let was = last[key] ?? 0
                let c = CoreMetrics.Counter(label: name, dimensions: labels, factory: factory) // the registry's one series of that name and labels
                c.increment(by: Int64(clamping: total >= was ? total - was : total)) // a total below the last: a new loop, counted again from 0
                last[key] = total
            }
            func gauge(_ name: String, _ labels: [(String, String)], _ value: Double) {
                Meter(label: name, dimensions: labels, factory: factory).set(value)
            }
            let m = s.summary
            counter("omni_loop_passes_total", [], m.passes)
            gauge("omni_config_version", [], Double(m.configVersion))
            gauge("omni_killed", [], m.killReason != 0 ? 1 : 0)
            gauge("omni_open_orders", [], Double(m.openOrders))
            counter("omni_feed_packets_total", [], m.feed.packets)
            counter("omni_feed_messages_total", [], m.feed.delivered)
            counter("omni_feed_gaps_total", [("event", "opened")], m.feed.gapsOpened)
            counter("omni_feed_gaps_total", [("event", "filled")], m.feed.gapsFilled)
            counter("omni_feed_gaps_total", [("event", "lost")], m.feed.gapsLost)
            gauge("omni_feed_stale", [], m.feedStale ? 1 : 0)
            gauge("omni_gateway_up", [], m.gatewayUp ? 1 : 0)
            counter("omni_book_updates_total", [], m.bookChanges)
            counter("omni_order_requests_total", [], m.requests)
            counter("omni_orders_sent_total", [], m.requests &- m.refusedByRisk &- m.notSent)
            counter("omni_orders_acknowledged_total", [], m.venueAccepted)
            for c in RiskCheck.allCases { counter("omni_orders_rejected_total", [("reason", c.key)], s.refusals[Int(c.rawValue) - 1]) }
            counter("omni_orders_rejected_total", [("reason", "not_sent")], m.notSent)
            counter("omni_orders_rejected_total", [("reason", "venue")], m.venueRejected)
            for (i, x) in s.instruments.enumerated() where i < symbols.count {
                let symbol = ("symbol", symbols[i])
                counter("omni_fills_total", [symbol], x.fills)
                gauge("omni_position_shares", [symbol], Double(x.position))
                gauge("omni_pnl_dollars", [symbol, ("kind", "realised")], dollars(x.realised))
                gauge("omni_pnl_dollars", [symbol, ("kind", "unrealised")], dollars(x.unrealised))
                gauge("omni_pnl_dollars", [symbol, ("kind", "fees")], dollars(x.fees))
                gauge("omni_pnl_dollars", [symbol, ("kind", "net")], dollars(x.realised + x.unrealised - x.fees))
            }
            gauge("omni_tick_to_trade_ns", [("quantile", "0.5")], Double(m.tickToTradeP50Ns))
            gauge("omni_tick_to_trade_ns", [("quantile", "0.99")], Double(m.tickToTradeP99Ns))
            counter("omni_tick_to_trade_count", [], m.tickToTradeCount)
            gauge("omni_command_applied_ns", [("quantile", "0.5")], Double(commandApplied.p50))
            gauge("omni_command_applied_ns", [("quantile", "0.99")], Double(commandApplied.p99))
            counter("omni_command_applied_count", [], commandApplied.count)
            for (token, n) in server.rateLimited { counter("omni_control_rate_limited_total", [("token", token)], n) }
            for k in AlertKind.allCases { counter("omni_alerts_total", [("kind", k.rawValue)], server.alerts[k.rawValue] ?? 0) }
            gauge("omni_stream_subscribers", [], Double(server.streamSubscribers))
            counter("omni_stream_dropped_total", [], server.streamDropped)
            counter("omni_stream_refused_total", [], server.streamRefused)
            return registry.emitToString()
        }
    }
}

/// The control plane's own counts, for /metrics.
struct ServerCounts {
    /// Requests refused with 429, by token name.
    var rateLimited: [String: UInt64]
    /// Alerts raised, by kind.
    var alerts: [String: UInt64]
    var streamSubscribers: Int
    /// Stream subscribers dropped for a full queue, and refused for too many.
    var streamDropped: UInt64, streamRefused: UInt64
}
