import Glibc

// Threads of a test: bodies run on threads of their own (so a test may pin them or spin in them).

/// A pointer handed to another thread. The tests order every access by hand
/// (thread start and join), which the compiler cannot see.
public struct Shared<T>: @unchecked Sendable {
    public let p: UnsafeMutablePointer<T>
    public init(p: UnsafeMutablePointer<T>) { self.p = p }
}

private final class ThreadBody {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// Runs each body on a thread of its own (so a test may pin it or spin in it)
/// and returns when all have finished.
public func runThreads(_ bodies: [@Sendable () -> Void]) {
    var threads: [pthread_t] = []
    for body in bodies {
        var t = pthread_t()
        let arg = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        let rc = pthread_create(&t, nil, { arg in
            Unmanaged<ThreadBody>.fromOpaque(arg!).takeRetainedValue().run()
            return nil
        }, arg)
        precondition(rc == 0, "pthread_create: \(rc)")
        threads.append(t)
    }
    for t in threads { pthread_join(t, nil) }
}
