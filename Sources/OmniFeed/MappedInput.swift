#if canImport(Glibc)
import Glibc
#endif
import CZlib

/// A whole input file in memory, read-only: memory-mapped when plain, inflated
/// into anonymous memory when it ends in `.gz`. Replays walk it without copying.
public final class MappedInput {
    /// Valid while this object lives: keep it alive (withExtendedLifetime) across every use.
    public let bytes: UnsafeRawBufferPointer
    public let path: String
    public let wasCompressed: Bool
    private let mappedLength: Int

    public init(path: String) throws {
        self.path = path
        // Checked before any open: opening a FIFO for reading blocks until a writer comes.
        var st = stat()
        guard stat(path, &st) == 0 else { throw FeedError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw FeedError.cannotOpen(path: path, reason: "not a regular file") }
        if path.hasSuffix(".gz") {
            (bytes, mappedLength) = try MappedInput.inflate(path)
            wasCompressed = true
        } else {
            (bytes, mappedLength) = try MappedInput.map(path)
            wasCompressed = false
        }
    }

    deinit {
        if mappedLength > 0, let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), mappedLength) }
    }

    private static func map(_ path: String) throws -> (UnsafeRawBufferPointer, Int) {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)  // no wait if it became a FIFO since the check
        guard fd >= 0 else { throw FeedError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FeedError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw FeedError.cannotOpen(path: path, reason: "not a regular file") }
        let size = Int(st.st_size)
        if size == 0 { return (UnsafeRawBufferPointer(start: nil, count: 0), 0) }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0), p != MAP_FAILED else {
            throw FeedError.cannotOpen(path: path, reason: "mmap: " + String(cString: strerror(errno)))
        }
        _ = madvise(p, size, MADV_SEQUENTIAL)
        return (UnsafeRawBufferPointer(start: p, count: size), size)
    }

    /// Inflates into a large reserved, uncommitted mapping: only the pages written
    /// are backed, so a multi-GB day file needs neither regrowth nor a second copy.
    private static func inflate(_ path: String) throws -> (UnsafeRawBufferPointer, Int) {
        guard let gz = gzopen(path, "rb") else { throw FeedError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { gzclose(gz) }
        _ = gzbuffer(gz, 1 << 20)
        let cap = 1 << 38 // 256 GiB of address space
        guard let base = mmap(nil, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0), base != MAP_FAILED else {
            throw FeedError.cannotOpen(path: path, reason: "cannot reserve address space: " + String(cString: strerror(errno)))
        }
        var used = 0
        while true {
            guard cap - used >= 1 << 30 else {
                munmap(base, cap)
                throw FeedError.cannotOpen(path: path, reason: "inflates past \(cap - (1 << 30)) bytes")
            }
            let n = gzread(gz, base + used, 1 << 30)
            if n < 0 {
                var code: Int32 = 0
                let msg = String(cString: gzerror(gz, &code))
                munmap(base, cap)
                throw FeedError.corrupt(path: path, offset: used, reason: "gzip: \(msg)")
            }
            if n == 0 { break }
            used += Int(n)
        }
        return (UnsafeRawBufferPointer(start: base, count: used), cap)
    }
}

public enum FeedError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case corrupt(path: String, offset: Int, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "cannot read \(path): \(reason)"
        case let .corrupt(path, offset, reason): return "\(path): at byte \(offset): \(reason)"
        }
    }
}
