import ArgumentParser
import HummingbirdBcrypt
import OmniControl

/// The options every `omni ctl` command shares: where the control plane is, the token, the output.
struct CtlOptions: ParsableArguments {
    @Option(help: "The control plane, HOST:PORT (omni run's --control), or https://HOST:PORT when it serves TLS (omni run --control-tls-cert).") var control = "127.0.0.1:8470"
    @Option(name: .customLong("token-file"), help: "A file holding the API token (default: $OMNI_CTL_TOKEN, else the token omni run generated, \(ControlPlane.defaultTokenFile)).")
    var tokenFile: String?
    @Option(help: "For an https:// --control: the CA certificate (PEM) the server's certificate must chain to (default: $OMNI_CTL_CACERT, else the system's trusted roots).")
    var cacert: String?
    @Flag(help: "Print the answer's raw JSON.") var json = false
}

extension CtlOptions: ControlCallOptions {}

struct Ctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The running omni run's control plane from the shell: status, positions, orders, fills, PnL, limits, quoting, the kill switch.",
        discussion: """
        The same API as http://HOST:PORT/openapi.json. The token comes from --token-file, else \
        $OMNI_CTL_TOKEN, else the admin token omni run generated when it was given no tokens file. \
        --json prints the raw answer. A refusal (401, 403, a bad value) prints its message and exits 1.
        """,
        subcommands: [CtlStatus.self, CtlPositions.self, CtlOrders.self, CtlFills.self, CtlPnL.self, CtlLimits.self, CtlKill.self, CtlReset.self,
                      CtlSet.self, CtlQuote.self, CtlHashToken.self]
    )
}

struct CtlStatus: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "The loop at a glance.")
    @OptionGroup var options: CtlOptions
    func run() throws { try running { try options.call("GET", "/v1/status", readable: ControlAnswerLines.status) } }
}

struct CtlPositions: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "positions", abstract: "Positions per instrument.")
    @OptionGroup var options: CtlOptions
    func run() throws { try running { try options.call("GET", "/v1/positions", readable: ControlAnswerLines.positions) } }
}

struct CtlOrders: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "orders", abstract: "Open orders (each, as the venue last answered) and rejects by reason.")
    @OptionGroup var options: CtlOptions
    func run() throws { try running { try options.call("GET", "/v1/orders", readable: ControlAnswerLines.orders) } }
}

struct CtlFills: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fills", abstract: "The last executions (at most 256), oldest first.")
    @OptionGroup var options: CtlOptions
    func run() throws { try running { try options.call("GET", "/v1/fills", readable: ControlAnswerLines.fills) } }
}

struct CtlPnL: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pnl", abstract: "Realised and unrealised PnL per instrument.")
    @OptionGroup var options: CtlOptions
    func run() throws { try running { try options.call("GET", "/v1/pnl", readable: ControlAnswerLines.pnl) } }
}

struct CtlLimits: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "limits",
        abstract: "Risk limits per instrument; with SYMBOL and KEY=VALUE (max_order_qty, max_position), changes them (a trader may lower, a risk officer raise, with expires_in_s=SECONDS: it reverts by itself).")
    @OptionGroup var options: CtlOptions
    @Argument(help: "SYMBOL KEY=VALUE...") var change: [String] = []
    func run() throws {
        try running {
            guard let symbol = change.first else { return try options.call("GET", "/v1/risk/limits", readable: ControlAnswerLines.limits) }
            var body = try controlAssignments(Array(change.dropFirst()), known: ["max_order_qty", "max_position", "config_version", "expires_in_s"])
            guard !body.isEmpty else { throw ValidationError("limits \(symbol): give max_order_qty=N and / or max_position=N") }
            body["symbol"] = symbol
            try options.call("PUT", "/v1/risk/limits", body: body, readable: ControlAnswerLines.limits)
        }
    }
}

struct CtlKill: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "Trigger the kill switch: every open order canceled, nothing sent until a reset.")
    @OptionGroup var options: CtlOptions
    func run() throws {
        try running { try options.call("POST", "/v1/kill", readable: ControlAnswerLines.kill) }
    }
}

struct CtlReset: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reset", abstract: "Reset the kill switch (risk officer): quoting resumes.")
    @OptionGroup var options: CtlOptions
    func run() throws {
        try running { try options.call("POST", "/v1/kill/reset", readable: ControlAnswerLines.reset) }
    }
}

struct CtlSet: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set", abstract: "Change an instrument's quoting parameters: spread_ticks, size, skew_shares, max_position.")
    @OptionGroup var options: CtlOptions
    @Argument(help: "The instrument.") var symbol: String
    @Argument(help: "KEY=VALUE...") var values: [String]
    func run() throws {
        try running {
            let body = try controlAssignments(values, known: ["spread_ticks", "size", "skew_shares", "max_position"])
            guard !body.isEmpty else { throw ValidationError("set \(symbol): give one or more KEY=VALUE") }
            try options.call("PUT", "/v1/instruments/\(symbol)/params", body: body, readable: ControlAnswerLines.params)
        }
    }
}

struct CtlQuote: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "quote", abstract: "Quoting on or off for an instrument (off cancels its orders).")
    @OptionGroup var options: CtlOptions
    @Argument(help: "The instrument.") var symbol: String
    @Argument(help: "on or off.") var state: String
    func run() throws {
        guard state == "on" || state == "off" else { throw ValidationError("quote \(symbol): '\(state)' is not on or off") }
        try running { try options.call("POST", "/v1/instruments/\(symbol)/quoting", body: ["quoting": state == "on"], readable: ControlAnswerLines.params) }
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
