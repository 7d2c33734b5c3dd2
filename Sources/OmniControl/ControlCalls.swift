import Foundation
import OmniCore
import OmniTrading

/// What every `omni ctl` command is given: where the control plane is, the token file, the CA
/// certificate for an https:// address, and whether to print the answer's raw JSON.
public protocol ControlCallOptions {
    var control: String { get }
    var tokenFile: String? { get }
    var cacert: String? { get }
    var json: Bool { get }
}

extension ControlCallOptions {
    /// A client of the control plane at `control` (HOST:PORT or http://HOST:PORT: plain HTTP;
    /// https://HOST:PORT: TLS, the server's certificate checked against `cacert`, else
    /// $OMNI_CTL_CACERT, else the system's roots), with the token from `tokenFile`, else
    /// $OMNI_CTL_TOKEN, else the one omni run generated.
    public func client() throws -> ControlClient {
        let https = control.hasPrefix("https://")
        let address = https ? String(control.dropFirst(8)) : control.hasPrefix("http://") ? String(control.dropFirst(7)) : control
        guard let hp = RunConfig.HostPort(address.hasSuffix("/") ? String(address.dropLast()) : address) else {
            throw CommandError.refused("--control: '\(control)' is not HOST:PORT, http://HOST:PORT or https://HOST:PORT")
        }
        if let cacert, !https { throw CommandError.refused("--cacert \(cacert): only for an https:// control plane (--control https://\(address))") }
        let tls = https ? ControlClientTLS(caCert: cacert ?? ProcessInfo.processInfo.environment["OMNI_CTL_CACERT"].flatMap { $0.isEmpty ? nil : $0 }) : nil
        var token: String?
        if let f = tokenFile {
            do { token = try String(contentsOfFile: f, encoding: .utf8) } catch { throw CommandError.refused("--token-file \(f): \(error.localizedDescription)") }
        } else if let t = ProcessInfo.processInfo.environment["OMNI_CTL_TOKEN"] {
            token = t
        } else {
            token = try? String(contentsOfFile: ControlPlane.defaultTokenFile, encoding: .utf8)
        }
        return ControlClient(host: hp.host, port: hp.port, token: token?.trimmingCharacters(in: .whitespacesAndNewlines), tls: tls)
    }

    /// Sends the request; prints the raw JSON (`json`) or `readable`'s lines; a refusal exits 1 with its message.
    public func call(_ method: String, _ path: String, body: [String: Any]? = nil, readable: ([String: Any]) -> [String]) throws {
        let text = try body.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
        let answer: (status: Int, headers: [String: String], body: String)
        do { answer = try client().request(method, path, body: text) } catch { throw CommandError.refused("\(error)") }
        let object = (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8))) as? [String: Any] ?? [:]
        if json { print(answer.body) }
        guard answer.status == 200 else {
            if !json { print("omni ctl: \(method) \(path): \(answer.status) \(object["error"] as? String ?? answer.body)") }
            throw CommandError.exit(1)
        }
        if !json { for line in readable(object) { print(line) } }
    }
}

/// The control plane's answers as `omni ctl` prints them, a function per request.
public enum ControlAnswerLines {
    public static func status(_ o: [String: Any]) -> [String] {
        ["config version \(field(o, "config_version")), kill switch \((o["killed"] as? Bool) == true ? "ON (\(field(o, "kill_reason")))" : "off")",
         "open orders \(field(o, "open_orders")), fills \(field(o, "fills")), net PnL \(money(o, "net_pnl"))",
         "tick-to-trade p50 \(field(o, "tick_to_trade_p50_ns")) ns, p99 \(field(o, "tick_to_trade_p99_ns")) ns",
         "feed \((o["feed_stale"] as? Bool) == true ? "STALE" : "ok"), gateway \((o["gateway_up"] as? Bool) == true ? "up" : "DOWN")"]
    }

    public static func positions(_ o: [String: Any]) -> [String] {
        rows(o).map { "\(field($0, "symbol")): \(field($0, "position")) shares (bought \(field($0, "bought_shares")), sold \(field($0, "sold_shares")), \(field($0, "fills")) fills), working buy \(field($0, "working_buy")) sell \(field($0, "working_sell"))" }
    }

    public static func orders(_ o: [String: Any]) -> [String] {
        let reasons = (o["rejects_by_reason"] as? [String: Any] ?? [:]).filter { ($0.value as? NSNumber)?.intValue ?? 0 > 0 }
            .sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        let open = (o["open"] as? [[String: Any]] ?? []).map { r in
            "  \(field(r, "symbol")) \(field(r, "client_order_id")): \(field(r, "side")) \(field(r, "shares")) @ \(field(r, "price")), \(field(r, "state"))"
        }
        return ["open orders \(field(o, "open_orders")); requests \(field(o, "requests")), refused by risk \(field(o, "refused_by_risk")), not sent \(field(o, "not_sent")), venue rejected \(field(o, "venue_rejected")), fills \(field(o, "fills"))",
                "risk refusals: \(reasons.isEmpty ? "none" : reasons.joined(separator: ", "))"] + open
    }

    public static func fills(_ o: [String: Any]) -> [String] {
        let rows = o["fills"] as? [[String: Any]] ?? []
        return rows.isEmpty ? ["no executions yet"] : rows.map { r in
            "\(field(r, "at")) \(field(r, "symbol")) \(field(r, "client_order_id")): \(field(r, "side")) \(field(r, "shares")) @ \(field(r, "price")), \(field(r, "leaves")) left, \(field(r, "liquidity")), match \(field(r, "match_number"))"
        }
    }

    public static func pnl(_ o: [String: Any]) -> [String] {
        rows(o).map { "\(field($0, "symbol")): realised \(money($0, "realised")), unrealised \(money($0, "unrealised")), fees \(money($0, "fees")), net \(money($0, "net"))" }
            + [(o["total"] as? [String: Any]).map { "total: realised \(money($0, "realised")), unrealised \(money($0, "unrealised")), fees \(money($0, "fees")), net \(money($0, "net"))" } ?? ""]
    }

    public static func limits(_ o: [String: Any]) -> [String] {
        ["config version \(field(o, "config_version"))"] + rows(o).map { r in
            "\(field(r, "symbol")): max order \(field(r, "max_order_qty")) shares, max position \(field(r, "max_position")) shares"
                + ((r["override"] as? [String: Any]).map { ", raised by \(field($0, "by")) until \(field($0, "expires_at")) (then \(field($0, "reverts_to_max_order_qty")) / \(field($0, "reverts_to_max_position")))" } ?? "")
        }
    }

    public static func kill(_ o: [String: Any]) -> [String] { ["kill switch ON (\(field(o, "reason"))), config version \(field(o, "config_version"))"] }

    public static func reset(_ o: [String: Any]) -> [String] { ["kill switch off, config version \(field(o, "config_version"))"] }

    public static func params(_ o: [String: Any]) -> [String] {
        ["\(field(o, "symbol")): quoting \((o["quoting"] as? Bool) == true ? "on" : "off"), spread_ticks \(field(o, "spread_ticks")), size \(field(o, "size")), skew_shares \(field(o, "skew_shares")), max_position \(field(o, "max_position")); config version \(field(o, "config_version"))"]
    }

    static func field(_ o: [String: Any], _ k: String) -> String {
        guard let v = o[k] else { return "-" }
        return "\(v)"
    }

    static func money(_ o: [String: Any], _ k: String) -> String {
        let v = (o[k] as? NSNumber)?.doubleValue ?? 0
        return (v < 0 ? "-$" : "$") + String(format: "%.2f", abs(v))
    }

    static func rows(_ o: [String: Any], _ k: String = "instruments") -> [[String: Any]] { o[k] as? [[String: Any]] ?? [] }
}

/// `key=value` arguments as integers, keys checked against `known`.
public func controlAssignments(_ args: [String], known: [String]) throws -> [String: Any] {
    var out: [String: Any] = [:]
    for a in args {
        let kv = a.split(separator: "=", maxSplits: 1)
        guard kv.count == 2, known.contains(String(kv[0])) else { throw CommandError.refused("'\(a)': expected KEY=VALUE with KEY one of \(known.joined(separator: ", "))") }
        guard let v = Int64(kv[1]) else { throw CommandError.refused("'\(a)': \(kv[1]) is not an integer") }
        out[String(kv[0])] = v
    }
    return out
}
