import CWire

/// A MoldUDP64 session name as its 10 wire bytes: ASCII, space padded, cut at 10.
public func moldSessionName(_ name: String) -> [UInt8] {
    let b = Array(name.utf8.prefix(Int(CW_MOLD_SESSION_LEN)))
    return b + [UInt8](repeating: UInt8(ascii: " "), count: Int(CW_MOLD_SESSION_LEN) - b.count)
}
