#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole (small) file: its bytes, or why it could not be read (strerror of the failing
/// call). Not for the hot path.
public func readFileBytes(_ path: String) -> Result<[UInt8], FileError> {
    guard let f = fopen(path, "r") else { return .failure(FileError(path: path, reason: String(cString: strerror(errno)))) }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n > 0 { bytes.append(contentsOf: buf[0..<n]) }
        if n < buf.count {
            if ferror(f) != 0 { return .failure(FileError(path: path, reason: String(cString: strerror(errno)))) }
            return .success(bytes)
        }
    }
}

/// Reads a whole (small) file as text, for configuration files (see `readFileBytes`).
public func readTextFile(_ path: String) -> Result<String, FileError> {
    readFileBytes(path).map { String(decoding: $0, as: UTF8.self) }
}

/// Writes `text` and a newline to `path` (created or truncated): reports, configurations, CSV.
public func writeTextFile(_ path: String, _ text: String) throws {
    let w = try FileWriter(path: path)
    try w.write(text + "\n")
    try w.flush()
}

/// A file that could not be read or written: its path and why (strerror of the failing call).
public struct FileError: Error, Sendable, Equatable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public var description: String { "\(path): \(reason)" }
}
