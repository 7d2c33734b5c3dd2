// Endpoints and interfaces as the commands' options and configuration files give them.
import CNet
import Glibc
import OmniCore

/// "239.1.1.1:30001" on `interface` as a MulticastGroup; a refusal naming the option otherwise.
public func parseGroup(_ text: String, interface: String, option: String) throws -> MulticastGroup {
    let e = try parseEndpoint(text, option: option)
    guard e.address >> 28 == 0xE else { throw CommandError.refused("\(option): \(text) is not a multicast group (224.0.0.0/4)") }
    let parts = text.split(separator: ":")
    return MulticastGroup(String(parts[0]), port: e.port, interface: interface)
}

/// "HOST:PORT" as an IPv4Endpoint (dotted IPv4, port 1...65535); a refusal naming the option otherwise.
public func parseEndpoint(_ text: String, option: String) throws -> IPv4Endpoint {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 2, let port = UInt16(parts[1]), port != 0,
          let e = IPv4Endpoint(String(parts[0]), port: port) else {
        throw CommandError.refused("\(option): '\(text)' is not ADDRESS:PORT (dotted IPv4, port 1...65535)")
    }
    return e
}

/// The IPv4 address of an interface given by name or address (loopback by default).
public func interfaceAddress(_ nameOrAddress: String) throws -> String {
    var i = cn_interface()
    let rc = cn_interface_resolve(nameOrAddress, &i)
    guard rc == 0 else {
        throw CommandError.refused("--interface \(nameOrAddress): \(String(cString: cn_strerror(rc)))")
    }
    let a = UInt32(bigEndian: i.address.s_addr)
    return "\(a >> 24).\((a >> 16) & 0xff).\((a >> 8) & 0xff).\(a & 0xff)"
}

/// The kernel name of an interface given by name or address.
public func interfaceName(_ nameOrAddress: String) throws -> String {
    var i = cn_interface()
    let rc = cn_interface_resolve(nameOrAddress, &i)
    guard rc == 0 else { throw CommandError.refused("--interface \(nameOrAddress): \(String(cString: cn_strerror(rc)))") }
    var n = i.name
    return withUnsafeBytes(of: &n) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
}
