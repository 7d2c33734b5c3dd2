import CSys
import OmniCore
#if canImport(Glibc)
import Glibc
#endif

/// Progress on stderr for long runs: rewritten in place on a terminal, a line every 10 s otherwise.
public struct Progress {
    let label: String
    let start = csys_monotonic_ns()
    let tty = isatty(2) != 0
    var lastPrint: UInt64 = 0

    public init(_ label: String) { self.label = label }

    public mutating func update(_ text: @autoclosure () -> String) {
        let now = csys_monotonic_ns()
        let every: UInt64 = tty ? 250_000_000 : 10_000_000_000
        guard now - start > 1_000_000_000, now - lastPrint > every else { return }
        lastPrint = now
        let line = "\(label): \(text())"
        writeStderr(tty ? "\r\u{1B}[K" + line : line + "\n")
    }

    public func finish() {
        if tty && lastPrint > 0 { writeStderr("\r\u{1B}[K") }
    }
}
