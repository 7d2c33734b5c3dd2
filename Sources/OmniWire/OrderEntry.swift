import CEvent

/// Where our orders go and where their answers come from: OUCH over SoupBinTCP, FIX, or a venue
/// in this process (tests, backtests). One protocol so the same strategy, risk and order code
/// runs against each (the way hftbacktest's Bot and NautilusTrader's ExecutionClient do it);
/// callers are generic over it and specialise. It lives here, shared, because our side sends
/// through it and the venue's side implements it for in-process runs.
public protocol OrderEntry: AnyObject {
    /// Queues one request: an OMNI_EV_ORDER_NEW, _CANCEL or _REPLACE event. False when it
    /// cannot go out (not connected, no room): the caller counts it; nothing is retried here.
    func submit(_ request: borrowing omni_event) -> Bool
    /// Sends what this pass queued, in one write where the transport allows.
    func flush()
    /// Hands every answer and fill received so far (OMNI_EV_ORDER_ACCEPTED ... OMNI_EV_FILL,
    /// client_order_id set) to `body`, without blocking; returns how many.
    @discardableResult func poll(_ body: (inout omni_event) -> Void) -> Int
}

/// A preallocated FIFO of events (an OrderEntry's answers waiting for `poll`); when full,
/// further events are counted and dropped.
public final class EventQueue {
    let events: UnsafeMutablePointer<omni_event>
    let capacity: Int
    // One thread, never accessed overlapping: no dynamic exclusivity check (see QuoteBoard).
    @exclusivity(unchecked) var head = 0
    @exclusivity(unchecked) var count = 0
    public private(set) var dropped = 0

    public init(capacity: Int) {
        self.capacity = capacity
        events = .allocate(capacity: capacity)
    }

    deinit { events.deallocate() }

    public func push(_ e: omni_event) {
        guard count < capacity else { dropped += 1; return }
        events[(head + count) % capacity] = e
        count += 1
    }

    public func drain(_ body: (inout omni_event) -> Void) -> Int {
        let n = count
        for _ in 0..<n {
            body(&events[head])
            head = (head + 1) % capacity
            count -= 1
        }
        return n
    }
}
