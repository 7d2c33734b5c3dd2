import CSys
import Glibc

/// The one thread launcher: a pthread that names itself, pins itself to a core when asked,
/// and runs a closure. Stages, servers and the simulator all start their threads here.
public final class PinnedThread: @unchecked Sendable {
    public let name: String
    public let core: Int?
    private var handle: pthread_t?

    private final class Start {
        let name: String
        let core: Int?
        let body: (Int32) -> Void
        init(_ name: String, _ core: Int?, _ body: @escaping (Int32) -> Void) { self.name = name; self.core = core; self.body = body }
    }

    /// Starts the thread; `body` gets the pin's result (0, or the errno csys_pin_to_core gave:
    /// the thread then runs unpinned). Throws `EngineError.threadStart` when pthread_create fails.
    public init(name: String, core: Int? = nil, _ body: @escaping (_ pinError: Int32) -> Void) throws(EngineError) {
        self.name = name
        self.core = core
        let box = Unmanaged.passRetained(Start(name, core, body)).toOpaque()
        var t = pthread_t()
        let rc = pthread_create(&t, nil, { arg in
            let start = Unmanaged<Start>.fromOpaque(arg!).takeRetainedValue()
            let pinError = start.core.map { -csys_pin_to_core(Int32($0)) } ?? 0 // CSys gives -errno
            _ = start.name.withCString { csys_name_thread($0) } // Linux keeps the first 15 bytes
            start.body(pinError)
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<Start>.fromOpaque(box).release()
            throw .threadStart(stage: name, errno: rc)
        }
        handle = t
    }

    /// Waits for the thread to end (once; later calls return at once).
    public func join() {
        if let t = handle { pthread_join(t, nil); handle = nil }
    }

    public var isJoined: Bool { handle == nil }
}
