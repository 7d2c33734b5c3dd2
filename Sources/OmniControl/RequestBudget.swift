import CSys
import OmniTrading
import Synchronization

/// Rate limits per token: a token bucket per token name (full at first, `rate.perSecond` tokens
/// back a second up to `rate.burst`, one taken per request). A request that finds it empty is
/// refused (429 with Retry-After) and counted against the token's name.
final class RequestBudget: Sendable {
    let rate: RunConfig.RequestRate
    let buckets = Mutex<[String: (tokens: Double, atNs: UInt64)]>([:])
    let limited = Mutex<[String: UInt64]>([:])

    init(_ rate: RunConfig.RequestRate) { self.rate = rate }

    /// Takes one request from `name`'s bucket: nil when there was one, else the whole seconds
    /// until there is (Retry-After).
    func take(_ name: String, nowNs: UInt64 = csys_monotonic_ns()) -> Int? {
        let wait: Int? = buckets.withLock { b in
            var (tokens, at) = b[name] ?? (rate.burst, nowNs)
            tokens = min(rate.burst, tokens + Double(nowNs &- at) / 1e9 * rate.perSecond)
            defer { b[name] = (tokens, nowNs) }
            if tokens >= 1 { tokens -= 1; return nil }
            return max(1, Int(((1 - tokens) / rate.perSecond).rounded(.up)))
        }
        if wait != nil { limited.withLock { $0[name, default: 0] += 1 } }
        return wait
    }

    /// Requests refused so far, by token name.
    var refusals: [String: UInt64] { limited.withLock { $0 } }
}
