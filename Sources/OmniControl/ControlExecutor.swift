import Dispatch
import OmniEngine
import Synchronization

/// The control plane's own thread, as the task executor its server's tasks prefer: requests,
/// the command link and their waits run here, not on Swift concurrency's shared threads (as few
/// as the cores, and busy elsewhere in a test run or a tool). Started by whoever makes it, so it
/// inherits that thread's affinity (`omni run`: every core but the loop's). Jobs run in order,
/// one at a time: the control plane's work is small.
final class ControlExecutor: TaskExecutor, @unchecked Sendable {
    let jobs = Mutex<[UnownedJob]>([])
    let waiting = DispatchSemaphore(value: 0)
    let running = Atomic<Bool>(true)
    private var thread: PinnedThread?
    /// Why the thread could not start (nil: it runs); `ControlServer.start` reports it.
    private(set) var startFailure: EngineError?

    init() {
        // Not pinned: the thread keeps the affinity of the one that makes it.
        do { thread = try PinnedThread(name: "omni-control") { _ in self.work() } } catch { startFailure = error }
    }

    func work() {
        while true {
            waiting.wait()
            guard running.load(ordering: .acquiring) else { return }
            let job = jobs.withLock { $0.removeFirst() }
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let j = UnownedJob(job)
        jobs.withLock { $0.append(j) }
        waiting.signal()
    }

    /// Ends the thread (once the server has stopped: no job is left for it).
    func shutdown() {
        running.store(false, ordering: .releasing)
        waiting.signal()
    }
}
