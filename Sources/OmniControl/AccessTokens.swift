import Glibc
import HummingbirdBcrypt
import OmniConfig
import OmniCore
import Synchronization

/// Who may do what on the control plane.
public enum ControlRole: String, CaseIterable, Sendable {
    case viewer, trader, riskOfficer = "risk_officer", admin

    public func may(_ action: ControlAction) -> Bool {
        switch (self, action) {
        case (.admin, _), (_, .read): true
        case (.trader, .trade), (.trader, .kill), (.trader, .setLimits): true
        case (.riskOfficer, .kill), (.riskOfficer, .setLimits), (.riskOfficer, .raiseLimits), (.riskOfficer, .resetKill): true
        default: false
        }
    }
}

/// What a request asks to do, as the roles see it.
public enum ControlAction: String, Sendable {
    /// Every GET.
    case read
    /// Quoting parameters, quoting on / off.
    case trade
    /// Trigger the kill switch.
    case kill
    /// Set a risk limit: lowering or keeping one; a raise also needs `raiseLimits`.
    case setLimits = "set limits"
    /// Raise a risk limit: the risk officer only (and admin).
    case raiseLimits = "raise limits"
    /// Reset the kill switch.
    case resetKill = "reset the kill switch"
}

/// One API token as the tokens file holds it: never the token, its bcrypt hash.
public struct AccessToken: Sendable, Equatable {
    public var name: String
    public var role: ControlRole
    public var bcrypt: String
    public init(name: String, role: ControlRole, bcrypt: String) { self.name = name; self.role = role; self.bcrypt = bcrypt }
}

/// The tokens file (`omni run --control-tokens FILE`), read with OmniConfig's reader:
///
/// ```yaml
/// tokens:
///   - name: alice           # who, for the logs
///     role: trader          # viewer | trader | risk_officer | admin
///     bcrypt: $2b$12$...    # bcrypt hash of the token (`omni ctl hash-token`)
/// ```
public enum TokenFile {
    public static func parse(_ yaml: String) throws(ConfigError) -> [AccessToken] {
        let r = ConfigReader()
        guard let root = try ConfigReader.document(yaml) else { throw ConfigError(key: "tokens", problem: "the file is empty: at least one token is needed") }
        let top = try r.mapping(root, "", known: ["tokens"])
        let items = try r.list(try r.required(top, "tokens", in: "(file)", root), "tokens")
        guard !items.isEmpty else { throw r.fail("tokens", "the list is empty: at least one token is needed", root) }
        var out: [AccessToken] = []
        for (i, item) in items.enumerated() {
            let at = "tokens[\(i)]"
            let m = try r.mapping(item, at, known: ["name", "role", "bcrypt"])
            let nameNode = try r.required(m, "name", in: at, item)
            let name = try r.scalar(nameNode, "\(at).name", "a name")
            guard !name.isEmpty, !out.contains(where: { $0.name == name }) else { throw r.fail("\(at).name", "empty or given twice: \"\(name)\"", nameNode) }
            let roleNode = try r.required(m, "role", in: at, item)
            let roleText = try r.scalar(roleNode, "\(at).role", "a role")
            guard let role = ControlRole(rawValue: roleText) else {
                throw r.fail("\(at).role", "expected one of \(ControlRole.allCases.map(\.rawValue).joined(separator: ", ")), found \"\(roleText)\"", roleNode)
            }
            let hashNode = try r.required(m, "bcrypt", in: at, item)
            let hash = try r.scalar(hashNode, "\(at).bcrypt", "a bcrypt hash")
            guard hash.hasPrefix("$2"), hash.utf8.count == 60 else { throw r.fail("\(at).bcrypt", "expected a 60-character bcrypt hash ($2b$...), found \"\(hash)\"", hashNode) }
            out.append(AccessToken(name: name, role: role, bcrypt: hash))
        }
        return out
    }

    public static func read(_ path: String) throws(ConfigError) -> [AccessToken] {
        switch readTextFile(path) {
        case .success(let text): return try parse(text)
        case .failure(let e): throw ConfigError(key: "(file)", problem: "cannot read \(path): \(e.reason)")
        }
    }

    /// A new random token (32 bytes from the system's cryptographic source, hex): not OmniCore's
    /// PRNG, which is seeded for reproducible runs and must not make secrets.
    public static func newToken() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<32).map { _ in
            let b = UInt8.random(in: 0...255, using: &g)
            return String(b >> 4, radix: 16) + String(b & 15, radix: 16)
        }.joined()
    }

    /// Writes `text` to `path` readable by its owner only (0600), replacing what was there at once
    /// (a file of this process's own, renamed over it: two runs never see half a token).
    public static func writePrivate(_ text: String, to path: String) throws(ConfigError) {
        let dir = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        if !dir.isEmpty { _ = mkdir(dir, 0o700) }
        let temporary = "\(path).\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ConfigError(key: "token file", problem: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = write(fd, bytes, bytes.count)
        close(fd)
        guard written == bytes.count, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw ConfigError(key: "token file", problem: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// Checks `Authorization: Bearer TOKEN` against the tokens' bcrypt hashes. bcrypt is slow by
/// design (tens of ms a check), so a token verified once is remembered for the run, in memory.
public final class Authenticator: Sendable {
    public let tokens: [AccessToken]
    let verified = Mutex<[String: Int]>([:])

    public init(_ tokens: [AccessToken]) { self.tokens = tokens }

    /// The token's entry, nil when no hash matches.
    public func identify(_ token: String) -> AccessToken? {
        if let i = verified.withLock({ $0[token] }) { return tokens[i] }
        guard let i = tokens.firstIndex(where: { Bcrypt.verify(token, hash: $0.bcrypt) }) else { return nil }
        verified.withLock { $0[token] = i }
        return tokens[i]
    }
}
