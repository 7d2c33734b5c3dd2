import CSys
import OmniCore

#if canImport(Glibc)
import Glibc
#endif

/// Whether this host could measure a run: a benchmark says so instead of printing figures
/// that the host's load made up (a descheduled thread turns a 250 ns round trip into seconds).
struct HostCheck {
    /// Cores the benchmark's own threads keep busy.
    let threads: Int
    let plannedSeconds: Double
    let cores = Int(csys_online_cores())
    let startNs: UInt64 = csys_monotonic_ns()

    /// Busy and total jiffies of all CPUs from /proc/stat (steal counts as busy: the hypervisor
    /// gave that time to someone else).
    static func cpuJiffies() -> (busy: UInt64, total: UInt64)? {
        guard case .success(let text) = readTextFile("/proc/stat"), let line = text.split(separator: "\n").first,
              line.hasPrefix("cpu ") else { return nil }
        let v = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard v.count >= 5 else { return nil }
        let total = v.reduce(0, +)
        return (total - v[3] - v[4], total) // minus idle and iowait
    }

    /// Cores' worth of work other processes did over `seconds`, sampled before the run starts.
    static func busyCores(over seconds: Double, cores: Int) -> Double? {
        guard let a = cpuJiffies() else { return nil }
        usleep(UInt32(seconds * 1e6))
        guard let b = cpuJiffies(), b.total > a.total else { return nil }
        return Double(b.busy - a.busy) / Double(b.total - a.total) * Double(cores)
    }

    /// Why the host is too busy to start measuring, or nil: other work would leave the
    /// benchmark's threads less than their cores.
    func busyBeforeStart() -> String? {
        guard let busy = Self.busyCores(over: 0.3, cores: cores) else { return nil }
        return busy > Double(cores - threads) + 0.5
            ? "other work kept \(fixed(busy, 2)) of \(cores) cores busy; this run needs \(threads) to itself" : nil
    }

    /// Why the finished run is not a measurement, or nil: it ran past three times its plan
    /// (plus 2 s for set-up), so its threads spent much of it waiting for a core.
    func overran() -> String? {
        let took = Double(csys_monotonic_ns() - startNs) / 1e9
        return took > plannedSeconds * 3 + 2 ? "the run took \(fixed(took, 1)) s where \(fixed(plannedSeconds, 1)) s were planned" : nil
    }
}

/// The line a benchmark prints in place of its figures when the host could not measure.
func hostTooBusy(_ why: String) -> String { "host too busy to measure (\(why)): no figures are printed; run again on a quieter host" }
