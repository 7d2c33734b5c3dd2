import CNet
import Glibc

/// Runs code on a dedicated thread inside another network namespace. Sockets opened there stay
/// in that namespace for life, whichever thread uses them later; the caller's threads never move.
public enum NetworkNamespace: Sendable {
    /// A new namespace with only its own loopback (up, multicast on); it disappears with the
    /// thread and the last socket opened in it.
    case privateLoopback
    /// An existing namespace by path, e.g. /run/netns/NAME from `ip netns add NAME`.
    case path(String)

    /// Runs `body` on a new thread that first enters the namespace; waits and returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let job = NamespaceJob(namespace: self, body: body)
        let box = Unmanaged.passRetained(job as AnyObject)
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let job = Unmanaged<AnyObject>.fromOpaque(raw!).takeRetainedValue() as! NamespaceJobRunning
            job.execute()
            return nil
        }, box.toOpaque())
        guard rc == 0 else {
            box.release()
            throw NetError.namespace(path: "\(self)", code: rc)
        }
        pthread_join(thread, nil)
        return try job.take()
    }

    /// Moves the calling thread itself (only ever a thread of one's own).
    public func enter() throws(NetError) {
        let rc: Int32
        switch self {
        case .privateLoopback: rc = cn_netns_private_loopback()
        case .path(let p): rc = cn_netns_enter(p)
        }
        guard rc == 0 else { throw .namespace(path: "\(self)", code: -rc) }
    }
}

private protocol NamespaceJobRunning: AnyObject { func execute() }

/// The body and its outcome; written by the namespace thread before pthread_join returns.
private final class NamespaceJob<T>: NamespaceJobRunning, @unchecked Sendable {
    let namespace: NetworkNamespace
    let body: () throws -> T
    var outcome: Result<T, any Error>?

    init(namespace: NetworkNamespace, body: @escaping () throws -> T) {
        self.namespace = namespace
        self.body = body
    }

    func execute() {
        do {
            try namespace.enter()
            outcome = .success(try body())
        } catch {
            outcome = .failure(error)
        }
    }

    func take() throws -> T { try outcome!.get() }
}
