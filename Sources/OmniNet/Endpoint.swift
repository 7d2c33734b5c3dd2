import CNet
import Glibc

/// An IPv4 address and UDP port, host byte order.
public struct IPv4Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var address: UInt32
    public var port: UInt16

    public init(address: UInt32, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// Parses dotted IPv4; nil when it is not one.
    public init?(_ dotted: String, port: UInt16) {
        var sa = sockaddr_in()
        guard cn_sockaddr(dotted, port, &sa) == 0 else { return nil }
        self.init(sa)
    }

    public init(_ sa: sockaddr_in) {
        address = UInt32(bigEndian: sa.sin_addr.s_addr)
        port = UInt16(bigEndian: sa.sin_port)
    }

    public var sockaddr: sockaddr_in {
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        sa.sin_addr.s_addr = address.bigEndian
        return sa
    }

    public var description: String {
        "\(address >> 24).\((address >> 16) & 0xff).\((address >> 8) & 0xff).\(address & 0xff):\(port)"
    }
}

/// A multicast group to join or send to, and the interface it lives on.
public struct MulticastGroup: Hashable, Sendable, CustomStringConvertible {
    public var group: String
    public var port: UInt16
    /// Interface name ("lo") or IPv4 address; loopback 127.0.0.1 unless told otherwise.
    public var interface: String?
    /// Source-specific join (IP_ADD_SOURCE_MEMBERSHIP) when set.
    public var source: String?

    public init(_ group: String, port: UInt16, interface: String? = "127.0.0.1", source: String? = nil) {
        self.group = group
        self.port = port
        self.interface = interface
        self.source = source
    }

    var interfaceName: String { interface.flatMap { $0.isEmpty ? nil : $0 } ?? "(none)" }

    public var description: String {
        "\(group):\(port) on \(interfaceName)" + (source.map { " from \($0)" } ?? "")
    }
}

/// What an open socket was actually given.
public struct SocketInfo: Sendable {
    /// SO_RCVBUF as granted (the kernel doubles a request and caps it at rmem_max).
    public var receiveBufferBytes: Int
    /// Receive timestamps the socket carries.
    public var timestamps: TimestampKind
    public var interfaceName: String
    public var interfaceIndex: Int
    /// The bound group (multicast) or bound address (unicast) and port.
    public var local: IPv4Endpoint

    init(_ i: cn_socket_info) {
        receiveBufferBytes = Int(i.rcvbuf_granted)
        timestamps = TimestampKind(rawValue: i.timestamping) ?? .none
        var n = i.interface.name
        interfaceName = withUnsafeBytes(of: &n) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        interfaceIndex = Int(i.interface.index)
        local = IPv4Endpoint(i.group)
    }
}

public enum TimestampKind: Int32, Sendable {
    case none = 0
    /// Kernel software receive stamps (CLOCK_REALTIME).
    case software = 1
    /// Software plus NIC raw hardware stamps requested (the NIC's rx filter must be on).
    case hardware = 2
}
