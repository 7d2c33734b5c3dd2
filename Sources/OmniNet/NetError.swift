import CNet

/// What went wrong with a socket, naming the group (or address), port and interface involved
/// and the system's words for the error.
public enum NetError: Error, Equatable, CustomStringConvertible {
    /// A multicast sender was asked for with no interface: it would follow the default route.
    case noInterface(group: String, port: UInt16)
    /// Opening (resolving, binding, joining, setting options) failed.
    case open(role: String, group: String, port: UInt16, interface: String, code: Int32)
    /// A receive batch failed.
    case receive(group: String, port: UInt16, interface: String, code: Int32)
    /// A send failed.
    case send(group: String, port: UInt16, interface: String, code: Int32)
    /// Setting up or driving the io_uring ring failed.
    case ioUring(group: String, port: UInt16, interface: String, code: Int32)
    /// Entering a network namespace failed.
    case namespace(path: String, code: Int32)

    /// The positive errno (or CNet code) behind the error; 0 where there is none.
    public var code: Int32 {
        switch self {
        case .noInterface: Int32(CN_ENOINTERFACE)
        case .open(_, _, _, _, let c), .receive(_, _, _, let c), .send(_, _, _, let c), .ioUring(_, _, _, let c),
             .namespace(_, let c): c
        }
    }

    /// cn_strerror's text for `code`.
    public var codeText: String { String(cString: cn_strerror(-code)) }

    public var description: String {
        switch self {
        case let .noInterface(group, port):
            "multicast sender for \(group):\(port) refused: no interface named (\(codeText))"
        case let .open(role, group, port, interface, _):
            "cannot open \(role) \(group):\(port) on interface \(interface): \(codeText) (\(code))"
        case let .receive(group, port, interface, _):
            "receive from \(group):\(port) on interface \(interface) failed: \(codeText) (\(code))"
        case let .send(group, port, interface, _):
            "send to \(group):\(port) on interface \(interface) failed: \(codeText) (\(code))"
        case let .ioUring(group, port, interface, _):
            "io_uring receive on \(group):\(port) interface \(interface) failed: \(codeText) (\(code))"
        case let .namespace(path, _):
            "cannot enter network namespace \(path): \(codeText) (\(code))"
        }
    }
}
