import CSys
import Glibc
import Synchronization

/// The signal that asked the process to stop, 0 before one arrives. Written by
/// the signal handler: a lock-free atomic store is async-signal-safe.
private let stopSignal = Atomic<Int32>(0)

/// SIGINT / SIGTERM turned into a graceful stop. The handler only records the
/// signal; a thread off the hot path (`Pipeline.runUntilStopSignal`) sees it and
/// stops the stages, so each drains its input as on any stop.
public enum StopSignals {
    /// Installs the recording handler for `signals` (default SIGINT and SIGTERM).
    /// Returns 0 or the errno of the sigaction that failed.
    public static func install(_ signals: [Int32] = [SIGINT, SIGTERM]) -> Int32 {
        _ = stopSignal.load(ordering: .relaxed) // initialise the global now, never inside the handler
        return installRecording(signals) { sig in stopSignal.store(sig, ordering: .relaxed) }
    }

    /// The one sigaction helper: `handler` (a C function pointer that only stores to an atomic).
    static func installRecording(_ signals: [Int32], _ handler: @convention(c) (Int32) -> Void) -> Int32 {
        for sig in signals {
            var sa = sigaction()
            sa.__sigaction_handler.sa_handler = handler
            sigemptyset(&sa.sa_mask)
            sa.sa_flags = SA_RESTART
            if sigaction(sig, &sa, nil) != 0 { return errno }
        }
        return 0
    }

    /// The signal received since the last reset, or 0.
    public static var received: Int32 { stopSignal.load(ordering: .relaxed) }

    /// Forgets a received signal.
    public static func reset() { stopSignal.store(0, ordering: .relaxed) }
}

/// The kill signal (SIGUSR1 by default, RTS 6 Art. 12's operator trigger): recorded like a stop
/// signal but kept apart from it, so the process goes on running (refusing everything) after it.
private let killSignal = Atomic<Int32>(0)

public enum KillSignals {
    /// Installs the recording handler for `signals` (default SIGUSR1). Returns 0 or the errno.
    public static func install(_ signals: [Int32] = [SIGUSR1]) -> Int32 {
        _ = killSignal.load(ordering: .relaxed)
        return StopSignals.installRecording(signals) { sig in killSignal.store(sig, ordering: .relaxed) }
    }

    /// The kill signal received since the last reset, or 0.
    public static var received: Int32 { killSignal.load(ordering: .relaxed) }

    public static func reset() { killSignal.store(0, ordering: .relaxed) }
}

extension Pipeline {
    /// Waits, polling every `pollMs`, until a stop signal arrives or `done()` is
    /// true, then stops every stage gracefully. Returns the signal, or 0 when
    /// `done()` ended the wait. Call it on the main (or a control) thread after `start()`.
    public func runUntilStopSignal(pollMs: UInt32 = 10, done: () -> Bool = { false }) -> Int32 {
        var sig: Int32 = 0
        while true {
            sig = StopSignals.received
            if sig != 0 || done() { break }
            usleep(pollMs * 1000)
        }
        stop()
        return sig
    }
}
