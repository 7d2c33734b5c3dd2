#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole (small) file as text, for configuration files: the text, or why it could not
/// be read (strerror of the failing call). Not for the hot path.
public func readTextFile(_ path: String) -> Result<String, TextFileError> {
    guard let f = fopen(path, "r") else { return .failure(TextFileError(path: path, reason: String(cString: strerror(errno)))) }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n > 0 { bytes.append(contentsOf: buf[0..<n]) }
        if n < buf.count {
            if ferror(f) != 0 { return .failure(TextFileError(path: path, reason: String(cString: strerror(errno)))) }
            return .success(String(decoding: bytes, as: UTF8.self))
        }
    }
}

public struct TextFileError: Error, Sendable {
    public let path: String
    public let reason: String
}
