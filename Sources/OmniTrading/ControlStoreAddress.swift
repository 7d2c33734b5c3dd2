import Foundation

/// Where the control plane keeps its store (`control.store`, `--control-store`): a SQLite file,
/// or a PostgreSQL server that several hosts share (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB`,
/// also `postgresql://`). The one reading of that string; OmniControl opens what it names.
public enum ControlStoreAddress: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(PostgresAddress)

    /// Reads `text`: "off" is nil; a postgres:// or postgresql:// URL is a server; anything else
    /// is a SQLite file's path. A malformed URL is refused with what is wrong with it.
    public static func parse(_ text: String) throws(ControlStoreAddressError) -> ControlStoreAddress? {
        if text == "off" { return nil }
        guard !text.isEmpty else { throw ControlStoreAddressError("expected a SQLite file, a postgres://USER[:PASSWORD]@HOST[:PORT]/DB URL, or off; found an empty string") }
        let lower = text.lowercased()
        guard lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") else {
            if lower.hasPrefix("postgres:") || lower.hasPrefix("postgresql:") {
                throw ControlStoreAddressError("'\(redacted(text))' is not a PostgreSQL URL: expected postgres://USER[:PASSWORD]@HOST[:PORT]/DB")
            }
            return .sqlite(path: text)
        }
        return .postgres(try PostgresAddress(url: text))
    }

    /// `text` with a URL's password replaced by "***", for messages.
    static func redacted(_ text: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].lastIndex(of: "@") else { return text }
        let userinfo = text[scheme.upperBound..<at]
        guard let colon = userinfo.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}

/// A PostgreSQL server and database, from a postgres:// URL. Its `description` never shows the password.
public struct PostgresAddress: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String

    public init(user: String, password: String?, host: String, port: Int = 5432, database: String) {
        self.user = user; self.password = password; self.host = host; self.port = port; self.database = database
    }

    /// "postgres HOST:PORT/DB", as the log and `ControlStore.location` show it.
    public var description: String { "postgres \(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)" }

    /// The URL without its password (for messages).
    public var redactedURL: String { "postgres://\(user)\(password == nil ? "" : ":***")@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)" }

    /// postgres://USER[:PASSWORD]@HOST[:PORT]/DB (or postgresql://); user, password and database
    /// may be percent-encoded. Parameters (?sslmode=...) are refused: none is supported yet.
    public init(url text: String) throws(ControlStoreAddressError) {
        let shown = ControlStoreAddress.redacted(text)
        func bad(_ why: String) -> ControlStoreAddressError {
            ControlStoreAddressError("'\(shown)' is not a PostgreSQL URL (postgres://USER[:PASSWORD]@HOST[:PORT]/DB): \(why)")
        }
        guard let c = URLComponents(string: text) else { throw bad("not a URL (a character in the password or user that needs percent-encoding?)") }
        guard let scheme = c.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else { throw bad("the scheme is not postgres or postgresql") }
        guard let host = c.host, !host.isEmpty else { throw bad("no host") }
        guard let user = c.user, !user.isEmpty else { throw bad("no user") }
        if let p = c.port, !(1...65_535).contains(p) { throw bad("port \(p) is out of range") }
        let path = c.path
        let database = path.hasPrefix("/") ? String(path.dropFirst()) : path
        guard !database.isEmpty else { throw bad("no database (the /DB at the end)") }
        guard !database.contains("/") else { throw bad("the database '\(database)' contains '/'") }
        guard c.query == nil, c.fragment == nil else { throw bad("parameters (?...) and fragments (#...) are not supported") }
        let h = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.init(user: user, password: c.password, host: h, port: c.port ?? 5432, database: database)
    }
}

/// A `control.store` / `--control-store` value that is not a store.
public struct ControlStoreAddressError: Error, CustomStringConvertible, Sendable {
    public let problem: String
    public init(_ problem: String) { self.problem = problem }
    public var description: String { problem }
}
