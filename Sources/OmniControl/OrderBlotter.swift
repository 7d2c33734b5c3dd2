import CEvent
import CRing
import Foundation
import OmniTrading
import Synchronization

// The control plane's side of the order journal (ControlPort.journal): every request the loop
// sent, every answer and fill it took, read off the ring every 100 ms. From them: the open
// orders as the venue last answered (GET /v1/orders), the last executions (GET /v1/fills, the
// stream's fills) and, with a store, one row per event in the store (orders and fills).

/// One order event as the store keeps it: a request we sent, the venue's answer, an execution,
/// or a request answered by the loop itself (risk refused it, or it could not be sent).
public struct OrderEventRecord: Sendable, Equatable {
    public var run: String
    /// When the control plane read it off the journal (the loop stamps no wall time).
    public var at: Date
    public var symbol: String
    /// "new", "cancel", "replace" (our requests); "accepted", "rejected", "canceled", "replaced",
    /// "cancel rejected" (answers); "fill".
    public var event: String
    public var clientOrderID: UInt64
    /// "buy" or "sell".
    public var side: String
    /// ITCH units: the order's limit, or the execution's price.
    public var price: UInt32
    /// The order's shares (new, replace, accepted, replaced), the shares left open (cancel,
    /// canceled), or the shares executed (fill).
    public var shares: UInt32
    /// Fill: the order's shares still open after it; else 0.
    public var leaves: UInt32
    /// OMNI_REASON_* of a rejection, cancel or refusal; else 0.
    public var reason: UInt16
    /// Fill: the venue's match number; else 0.
    public var matchNumber: UInt64
    /// Fill: "added", "removed" or "unknown"; else "".
    public var liquidity: String
    /// The venue's time of an answer or fill, ns since its midnight; 0 for our requests.
    public var venueNs: UInt64

    public init(run: String, at: Date, symbol: String, event: String, clientOrderID: UInt64, side: String, price: UInt32, shares: UInt32,
                leaves: UInt32 = 0, reason: UInt16 = 0, matchNumber: UInt64 = 0, liquidity: String = "", venueNs: UInt64 = 0) {
        self.run = run; self.at = at; self.symbol = symbol; self.event = event; self.clientOrderID = clientOrderID; self.side = side
        self.price = price; self.shares = shares; self.leaves = leaves; self.reason = reason; self.matchNumber = matchNumber
        self.liquidity = liquidity; self.venueNs = venueNs
    }

    /// The journal's event `e` (nil: not an order event).
    init?(_ e: omni_event, run: String, symbol: String, at: Date) {
        let side = { (s: UInt8) in s == UInt8(OMNI_SIDE_BUY) ? "buy" : "sell" }
        if e.type == UInt8(OMNI_EV_FILL.rawValue) {
            let f = e.fill
            let liquidity = f.liquidity == UInt8(OMNI_LIQ_ADDED) ? "added" : f.liquidity == UInt8(OMNI_LIQ_REMOVED) ? "removed" : "unknown"
            self.init(run: run, at: at, symbol: symbol, event: "fill", clientOrderID: f.client_order_id, side: side(f.side), price: f.last_px,
                      shares: f.last_qty, leaves: f.leaves_qty, matchNumber: e.seq, liquidity: liquidity, venueNs: f.venue_ns)
            return
        }
        let names: [UInt32: String] = [OMNI_EV_ORDER_NEW.rawValue: "new", OMNI_EV_ORDER_CANCEL.rawValue: "cancel", OMNI_EV_ORDER_REPLACE.rawValue: "replace",
                                       OMNI_EV_ORDER_ACCEPTED.rawValue: "accepted", OMNI_EV_ORDER_REJECTED.rawValue: "rejected",
                                       OMNI_EV_ORDER_CANCELED.rawValue: "canceled", OMNI_EV_ORDER_REPLACED.rawValue: "replaced",
                                       OMNI_EV_CANCEL_REJECTED.rawValue: "cancel rejected"]
        guard let name = names[UInt32(e.type)] else { return nil }
        let o = e.order
        self.init(run: run, at: at, symbol: symbol, event: name, clientOrderID: o.client_order_id, side: side(o.side), price: o.price, shares: o.qty,
                  reason: o.reason, venueNs: o.venue_ns)
    }
}

/// An order that is open as far as the control plane has read the journal.
struct BlotterOrder: Sendable, Equatable {
    var symbol: String
    var clientOrderID: UInt64
    var side: String
    var price: UInt32
    /// Shares open (the venue's word once it accepted; the request's before).
    var shares: UInt32
    /// "pending new", "live", "pending cancel", "pending replace".
    var state: String
}

/// The open orders and the last executions from the order journal, and the rows for the store.
public final class OrderBlotter: Sendable {
    struct State {
        var open: [UInt64: BlotterOrder] = [:]
        var fills: [OrderEventRecord] = []
        var unstored: [OrderEventRecord] = []
        /// Executions not yet on the stream (whoever read them off the ring: the watcher, or a GET).
        var unstreamed: [OrderEventRecord] = []
        /// Order events the store never got (it failed, or fell a million rows behind).
        var notStored: UInt64 = 0
    }
    let state = Mutex(State())
    /// Executions kept for GET /v1/fills.
    static let recentFills = 256
    /// Rows waiting for the store at most (a store that cannot keep up loses the oldest, counted).
    let maxUnstored: Int
    /// Whether rows are kept for a store at all.
    let storing: Bool
    let run: String

    init(run: String, storing: Bool, maxUnstored: Int = 1 << 20) {
        self.run = run; self.storing = storing; self.maxUnstored = maxUnstored
    }

    /// Reads every event waiting in `port`'s journal; `symbol` names a locate. Returns the new
    /// executions, oldest first (the stream takes them with `takeUnstreamed`, whoever drained).
    func drain(_ port: ControlPort, symbol: (UInt16) -> String, at: Date) -> [OrderEventRecord] {
        // Under the lock: the ring has one consumer at a time (the watcher, or the last reading at stop).
        state.withLock { s in
            var e = omni_event()
            let size = UInt32(MemoryLayout<omni_event>.stride)
            var read: [OrderEventRecord] = []
            while cring_spsc_try_pop(port.journal.raw, &e, size) == 1 {
                if let r = OrderEventRecord(e, run: run, symbol: symbol(e.locate), at: at) { read.append(r) }
            }
            guard !read.isEmpty else { return [] }
            var fills: [OrderEventRecord] = []
            for r in read {
                Self.apply(r, to: &s.open)
                if r.event == "fill" { fills.append(r) }
            }
            s.fills.append(contentsOf: fills)
            if s.fills.count > Self.recentFills { s.fills.removeFirst(s.fills.count - Self.recentFills) }
            s.unstreamed.append(contentsOf: fills)
            if s.unstreamed.count > Self.recentFills { s.unstreamed.removeFirst(s.unstreamed.count - Self.recentFills) }
            if storing {
                s.unstored.append(contentsOf: read)
                if s.unstored.count > maxUnstored {
                    let over = s.unstored.count - maxUnstored
                    s.unstored.removeFirst(over)
                    s.notStored &+= UInt64(over)
                }
            }
            return fills
        }
    }

    /// One event's effect on the open orders (the ledger's rules, as far as a reader needs them).
    static func apply(_ r: OrderEventRecord, to open: inout [UInt64: BlotterOrder]) {
        let id = r.clientOrderID
        switch r.event {
        case "new": open[id] = BlotterOrder(symbol: r.symbol, clientOrderID: id, side: r.side, price: r.price, shares: r.shares, state: "pending new")
        case "accepted", "replaced": open[id]?.price = r.price; open[id]?.shares = r.shares; open[id]?.state = "live"
        case "cancel": open[id]?.state = "pending cancel"
        case "replace": open[id]?.state = "pending replace"
        case "cancel rejected": if open[id]?.state != "pending new" { open[id]?.state = "live" }
        case "rejected": open[id] = nil
        case "canceled": if r.shares == 0 { open[id] = nil } else { open[id]?.shares = r.shares; open[id]?.state = "live" }
        case "fill": if r.leaves == 0 { open[id] = nil } else { open[id]?.shares = r.leaves }
        default: break
        }
    }

    /// The rows read since the last call, for the store (and the count lost to a full buffer).
    func takeUnstored() -> [OrderEventRecord] {
        state.withLock { s in defer { s.unstored = [] }; return s.unstored }
    }

    /// The executions read since the last call, for the stream (at most the last 256).
    func takeUnstreamed() -> [OrderEventRecord] {
        state.withLock { s in defer { s.unstreamed = [] }; return s.unstreamed }
    }

    /// Rows the store did not take (it failed): counted, not kept.
    func lost(_ n: Int) { state.withLock { $0.notStored &+= UInt64(n) } }

    var openOrders: [BlotterOrder] { state.withLock { s in s.open.values.sorted { $0.clientOrderID < $1.clientOrderID } } }
    var recentFills: [OrderEventRecord] { state.withLock { $0.fills } }
    /// Order events the store never got.
    var notStored: UInt64 { state.withLock { $0.notStored } }
}

extension ControlServer {
    /// Reads the loop's order journal into the blotter; returns the new executions.
    @discardableResult func drainJournal() -> [OrderEventRecord] {
        blotter.drain(port, symbol: { l in port.instrumentIndex(l).map { symbols[$0] } ?? "locate \(l)" }, at: Date())
    }
}
