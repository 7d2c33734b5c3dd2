import CEvent
import CRing
import CSys
import Histogram
import OmniTrading

/// What the loop answered to one command.
public struct CommandAck: Sendable, Equatable {
    /// The configuration version after the command (unchanged when refused).
    public var version: UInt64
    /// OMNI_CMDR_*.
    public var result: UInt64
    /// Ticks from the push to the loop's applying it (the ack's hop[0]).
    public var appliedTicks: UInt64
    public var applied: Bool { result == UInt64(OMNI_CMDR_APPLIED) }

    /// Why the loop refused a command, in words.
    public var refusal: String? {
        switch Int(result) {
        case Int(OMNI_CMDR_APPLIED): nil
        case Int(OMNI_CMDR_UNKNOWN_INSTRUMENT): "the loop does not trade this instrument"
        case Int(OMNI_CMDR_UNKNOWN_PARAMETER): "the strategy has no such parameter for this instrument"
        case Int(OMNI_CMDR_BAD_VALUE): "value out of range"
        case Int(OMNI_CMDR_NOT_KILLED): "the kill switch is not on"
        default: "the loop does not apply this command"
        }
    }
}

/// Why a command got no answer.
public enum CommandLinkError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `capacity` commands wait unacknowledged already.
    case busy
    /// No acknowledgement within the timeout (the loop is stalled or has stopped).
    case notAcknowledged(timeoutMs: UInt64)

    public var description: String {
        switch self {
        case .busy: "too many commands waiting for the trading loop; try again"
        case .notAcknowledged(let ms): "the trading loop did not acknowledge the command within \(ms) ms"
        }
    }
}

/// The control plane's end of a `ControlPort`: pushes commands, matches the loop's
/// acknowledgements to them by sequence number. An actor, so the command ring has one producer
/// and the acknowledgement ring one consumer at a time; the loop's side never waits for it.
public actor CommandLink {
    public let port: ControlPort
    var nextSeq: UInt64 = 1
    var waiting: Set<UInt64> = []
    var received: [UInt64: CommandAck] = [:]
    var unacknowledged = 0
    /// Push -> applied, in TSC ticks, every acknowledged command.
    public private(set) var appliedTicks = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 1 << 40,
                                                             numberOfSignificantValueDigits: .three)

    public init(port: ControlPort) { self.port = port }

    /// Sends one command and waits for the loop's acknowledgement.
    public func send(_ code: Int32, locate: UInt16 = 0, _ a0: UInt64 = 0, _ a1: UInt64 = 0,
                     timeoutNs: UInt64 = 2_000_000_000) async throws(CommandLinkError) -> CommandAck {
        let seq = try push(code, locate: locate, a0, a1)
        waiting.insert(seq)
        let deadline = csys_monotonic_ns() + timeoutNs
        while true {
            collect()
            if let a = received.removeValue(forKey: seq) { return a }
            if csys_monotonic_ns() > deadline {
                waiting.remove(seq) // a late acknowledgement is counted, then dropped
                throw .notAcknowledged(timeoutMs: timeoutNs / 1_000_000)
            }
            try? await Task.sleep(nanoseconds: 20_000)
        }
    }

    /// Puts one command on the ring without waiting for its answer (the loop may not have started
    /// yet: it applies the command before its first pass); its acknowledgement is counted when it
    /// comes, then dropped. Returns its sequence number.
    @discardableResult
    public func post(_ code: Int32, locate: UInt16 = 0, _ a0: UInt64 = 0, _ a1: UInt64 = 0) throws(CommandLinkError) -> UInt64 {
        try push(code, locate: locate, a0, a1)
    }

    func push(_ code: Int32, locate: UInt16, _ a0: UInt64, _ a1: UInt64) throws(CommandLinkError) -> UInt64 {
        collect()
        guard unacknowledged < port.capacity else { throw .busy }
        var e = omni_event()
        e.type = UInt8(OMNI_EV_COMMAND.rawValue)
        e.locate = locate
        e.seq = nextSeq
        e.command.code = UInt32(code)
        e.command.arg.0 = a0
        e.command.arg.1 = a1
        e.rx_tsc = csys_rdtsc()
        guard cring_spsc_try_push(port.commands.raw, &e, UInt32(MemoryLayout<omni_event>.stride)) == 1 else { throw .busy }
        let seq = nextSeq
        nextSeq += 1
        unacknowledged += 1
        return seq
    }

    /// Takes every acknowledgement the loop has written.
    func collect() {
        var a = omni_event()
        while cring_spsc_try_pop(port.acks.raw, &a, UInt32(MemoryLayout<omni_event>.stride)) == 1 {
            unacknowledged -= 1
            let ack = CommandAck(version: a.command.arg.0, result: a.command.arg.1, appliedTicks: omni_event_hop_ticks(&a, 0))
            _ = appliedTicks.record(max(ack.appliedTicks, 1))
            if waiting.remove(a.seq) != nil { received[a.seq] = ack }
        }
    }
}
