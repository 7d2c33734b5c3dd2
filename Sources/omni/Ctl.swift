import ArgumentParser
import Foundation
import HummingbirdBcrypt
import OmniControl
import OmniTrading

/// The options every `omni ctl` command shares: where the control plane is, the token, the output.
struct CtlOptions: ParsableArguments {
    @Option(help: "The control plane, HOST:PORT (omni run's --control).") var control = "127.0.0.1:8470"
    @Option(name: .customLong("token-file"), help: "A file holding the API token (default: $OMNI_CTL_TOKEN, else the token omni run generated, \(ControlPlane.defaultTokenFile)).")
    var tokenFile: String?
    @Flag(help: "Print the answer's raw JSON.") var json = false

    func client() throws -> ControlClient {
        guard let hp = RunConfig.HostPort(control) else { throw ValidationError("--control: '\(control)' is not HOST:PORT") }
        var token: String?
        if let f = tokenFile {
            do { token = try String(contentsOfFile: f, encoding: .utf8) } catch { throw ValidationError("--token-file \(f): \(error.localizedDescription)") }
        } else if let t = ProcessInfo.processInfo.environment["OMNI_CTL_TOKEN"] {
            token = t
        } else {
            token = try? String(contentsOfFile: ControlPlane.defaultTokenFile, encoding: .utf8)
        }
        return ControlClient(host: hp.host, port: hp.port, token: token?.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Sends the request; prints the raw JSON (--json) or `readable`'s lines; a refusal exits 1 with its message.
    func call(_ method: String, _ path: String, body: [String: Any]? = nil, readable: ([String: Any]) -> [String]) throws {
        let text = try body.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
        let answer: (status: Int, body: String)
        do { answer = try client().request(method, path, body: text) } catch { throw ValidationError("\(error)") }
        let object = (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8))) as? [String: Any] ?? [:]
        if json { print(answer.body) }
        guard answer.status == 200 else {
            if !json { print("omni ctl: \(method) \(path): \(answer.status) \(object["error"] as? String ?? answer.body)") }
            throw ExitCode(1)
        }
        if !json { for line in readable(object) { print(line) } }
    }
}

func field(_ o: [String: Any], _ k: String) -> String {
    guard let v = o[k] else { return "-" }
    return "\(v)"
}

func money(_ o: [String: Any], _ k: String) -> String {
    let v = (o[k] as? NSNumber)?.doubleValue ?? 0
    return (v < 0 ? "-$" : "$") + String(format: "%.2f", abs(v))
}

func rows(_ o: [String: Any], _ k: String = "instruments") -> [[String: Any]] { o[k] as? [[String: Any]] ?? [] }

struct Ctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The running omni run's control plane from the shell: status, positions, PnL, limits, quoting, the kill switch.",
        discussion: """
        The same API as http://HOST:PORT/openapi.json. The token comes from --token-file, else \
        $OMNI_CTL_TOKEN, else the admin token omni run generated when it was given no tokens file. \
        --json prints the raw answer. A refusal (401, 403, a bad value) prints its message and exits 1.
        """,
        subcommands: [CtlStatus.self, CtlPositions.self, CtlOrders.self, CtlPnL.self, CtlLimits.self, CtlKill.self, CtlReset.self,
                      CtlSet.self, CtlQuote.self, CtlHashToken.self]
    )
}

struct CtlStatus: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "The loop at a glance.")
    @OptionGroup var options: CtlOptions
    func run() throws {
        try options.call("GET", "/v1/status") { o in
            ["config version \(field(o, "config_version")), kill switch \((o["killed"] as? Bool) == true ? "ON (\(field(o, "kill_reason")))" : "off")",
             "open orders \(field(o, "open_orders")), fills \(field(o, "fills")), net PnL \(money(o, "net_pnl"))",
             "tick-to-trade p50 \(field(o, "tick_to_trade_p50_ns")) ns, p99 \(field(o, "tick_to_trade_p99_ns")) ns",
             "feed \((o["feed_stale"] as? Bool) == true ? "STALE" : "ok"), gateway \((o["gateway_up"] as? Bool) == true ? "up" : "DOWN")"]
        }
    }
}

struct CtlPositions: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "positions", abstract: "Positions per instrument.")
    @OptionGroup var options: CtlOptions
    func run() throws {
        try options.call("GET", "/v1/positions") { o in
            rows(o).map { "\(field($0, "symbol")): \(field($0, "position")) shares (bought \(field($0, "bought_shares")), sold \(field($0, "sold_shares")), \(field($0, "fills")) fills), working buy \(field($0, "working_buy")) sell \(field($0, "working_sell"))" }
        }
    }
}

struct CtlOrders: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "orders", abstract: "Open orders and rejects by reason.")
    @OptionGroup var options: CtlOptions
    func run() throws {
        try options.call("GET", "/v1/orders") { o in
            let reasons = (o["rejects_by_reason"] as? [String: Any] ?? [:]).filter { ($0.value as? NSNumber)?.intValue ?? 0 > 0 }
                .sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
            return ["open orders \(field(o, "open_orders")); requests \(field(o, "requests")), refused by risk \(field(o, "refused_by_risk")), not sent \(field(o, "not_sent")), venue rejected \(field(o, "venue_rejected")), fills \(field(o, "fills"))",
                    "risk refusals: \(reasons.isEmpty ? "none" : reasons.joined(separator: ", "))"]
        }
    }
}

struct CtlPnL: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pnl", abstract: "Realised and unrealised PnL per instrument.")
    @OptionGroup var options: CtlOptions
    func run() throws {
        try options.call("GET", "/v1/pnl") { o in
            rows(o).map { "\(field($0, "symbol")): realised \(money($0, "realised")), unrealised \(money($0, "unrealised")), fees \(money($0, "fees")), net \(money($0, "net"))" }
                + [(o["total"] as? [String: Any]).map { "total: realised \(money($0, "realised")), unrealised \(money($0, "unrealised")), fees \(money($0, "fees")), net \(money($0, "net"))" } ?? ""]
        }
    }
}

/// `key=value` arguments as integers, keys checked against `known`.
func assignments(_ args: [String], known: [String]) throws -> [String: Any] {
    var out: [String: Any] = [:]
    for a in args {
        let kv = a.split(separator: "=", maxSplits: 1)
        guard kv.count == 2, known.contains(String(kv[0])) else { throw ValidationError("'\(a)': expected KEY=VALUE with KEY one of \(known.joined(separator: ", "))") }
        guard let v = Int64(kv[1]) else { throw ValidationError("'\(a)': \(kv[1]) is not an integer") }
        out[String(kv[0])] = v
    }
    return out
}

struct CtlLimits: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "limits",
        abstract: "Risk limits per instrument; with SYMBOL and KEY=VALUE (max_order_qty, max_position), changes them (a trader may lower, a risk officer raise).")
    @OptionGroup var options: CtlOptions
    @Argument(help: "SYMBOL KEY=VALUE...") var change: [String] = []
    func run() throws {
        let readable: ([String: Any]) -> [String] = { o in
            ["config version \(field(o, "config_version"))"] + rows(o).map { "\(field($0, "symbol")): max order \(field($0, "max_order_qty")) shares, max position \(field($0, "max_position")) shares" }
        }
        guard let symbol = change.first else { return try options.call("GET", "/v1/risk/limits", readable: readable) }
        var body = try assignments(Array(change.dropFirst()), known: ["max_order_qty", "max_position", "config_version"])
        guard !body.isEmpty else { throw ValidationError("limits \(symbol): give max_order_qty=N and / or max_position=N") }
        body["symbol"] = symbol
        try options.call("PUT", "/v1/risk/limits", body: body, readable: readable)
    }
}

struct CtlKill: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "Trigger the kill switch: every open order canceled, nothing sent until a reset.")
    @OptionGroup var options: CtlOptions
    func run() throws {
        try options.call("POST", "/v1/kill") { o in ["kill switch ON (\(field(o, "reason"))), config version \(field(o, "config_version"))"] }
    }
}

struct CtlReset: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reset", abstract: "Reset the kill switch (risk officer): quoting resumes.")
    @OptionGroup var options: CtlOptions
    func run() throws {
        try options.call("POST", "/v1/kill/reset") { o in ["kill switch off, config version \(field(o, "config_version"))"] }
    }
}

func paramsLine(_ o: [String: Any]) -> [String] {
    ["\(field(o, "symbol")): quoting \((o["quoting"] as? Bool) == true ? "on" : "off"), spread_ticks \(field(o, "spread_ticks")), size \(field(o, "size")), skew_shares \(field(o, "skew_shares")), max_position \(field(o, "max_position")); config version \(field(o, "config_version"))"]
}

struct CtlSet: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set", abstract: "Change an instrument's quoting parameters: spread_ticks, size, skew_shares, max_position.")
    @OptionGroup var options: CtlOptions
    @Argument(help: "The instrument.") var symbol: String
    @Argument(help: "KEY=VALUE...") var values: [String]
    func run() throws {
        let body = try assignments(values, known: ["spread_ticks", "size", "skew_shares", "max_position"])
        guard !body.isEmpty else { throw ValidationError("set \(symbol): give one or more KEY=VALUE") }
        try options.call("PUT", "/v1/instruments/\(symbol)/params", body: body, readable: paramsLine)
    }
}

struct CtlQuote: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "quote", abstract: "Quoting on or off for an instrument (off cancels its orders).")
    @OptionGroup var options: CtlOptions
    @Argument(help: "The instrument.") var symbol: String
    @Argument(help: "on or off.") var state: String
    func run() throws {
        guard state == "on" || state == "off" else { throw ValidationError("quote \(symbol): '\(state)' is not on or off") }
        try options.call("POST", "/v1/instruments/\(symbol)/quoting", body: ["quoting": state == "on"], readable: paramsLine)
    }
}

struct CtlHashToken: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hash-token",
        abstract: "A new API token and its bcrypt hash for a tokens file (omni run --control-tokens): the token goes to the person, the hash to the file.")
    @Option(help: "bcrypt cost (4...31).") var cost: UInt8 = 12
    func run() throws {
        guard (4...31).contains(cost) else { throw ValidationError("--cost must be 4...31") }
        let token = TokenFile.newToken()
        print("token:  \(token)")
        print("bcrypt: \(Bcrypt.hash(token, cost: cost))")
    }
}
