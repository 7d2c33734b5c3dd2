import Foundation
import Testing

/// A throwaway PostgreSQL server for the tests that need a real one (Debian's `postgresql`, which
/// `make setup` installs): `initdb` into a temporary folder, `pg_ctl start` on 127.0.0.1 at a port
/// in 44000-44999 (and a unix socket in that folder), password authentication over TCP. One per
/// test process, started on first use; stopped and removed when the process exits, whatever the
/// tests did (at exit, or by a watchdog when the runner skips its atexit handlers or is killed).
/// As root (initdb refuses root) it runs as the `postgres` system user, else `nobody`, in a folder
/// of /tmp given to that user; otherwise as the test's own user in its scratch folder.
public final class PostgresCluster: @unchecked Sendable {
    /// The superuser the cluster is made with, and its password.
    public static let user = "omni"
    public static let password = "omni-test-pw"

    /// The folder of initdb, pg_ctl, createdb and psql: the newest /usr/lib/postgresql/*/bin that has them all.
    public static let bin: String? = {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }
        return versions.map { "\(root)/\($0)/bin" }.first { dir in
            ["initdb", "pg_ctl", "postgres", "psql"].allSatisfy { FileManager.default.isExecutableFile(atPath: "\(dir)/\($0)") }
        }
    }()
    public static let present = bin != nil
    /// Why a PostgreSQL test does not run, for `.enabled(if: PostgresCluster.present, PostgresCluster.absent)`.
    public static let absent: Comment = "PostgreSQL server binaries (initdb, pg_ctl, postgres, psql) not found under /usr/lib/postgresql/*/bin: `make setup` installs Debian's postgresql"

    /// The process's cluster, started on first use; nil (with the reason printed) where the binaries
    /// are absent; a failure to start it is thrown at each use.
    public static func shared() throws -> PostgresCluster {
        try lock.withLock {
            if let c = started { return c }
            if let e = startError { throw e }
            guard let bin else {
                print("⚠️  SKIPPED: \(absent)")
                throw ClusterError("\(absent)")
            }
            do {
                let c = try PostgresCluster(bin: bin)
                started = c
                atexit { PostgresCluster.lock.withLock { PostgresCluster.started?.stop() } }
                return c
            } catch {
                startError = error
                throw error
            }
        }
    }

    nonisolated(unsafe) static var started: PostgresCluster?
    nonisolated(unsafe) static var startError: (any Error)?
    static let lock = NSLock()

    public let bin: String
    public let folder: String
    public let port: Int
    public var host: String { "127.0.0.1" }
    /// The unix socket's folder (psql and createdb use it; the store tests use TCP).
    public var socketFolder: String { folder + "/socket" }
    let runAs: String?
    private var stopped = false

    init(bin: String, port wanted: Int? = nil) throws {
        self.bin = bin
        runAs = getuid() == 0 ? (getpwnam("postgres") != nil ? "postgres" : "nobody") : nil
        // Another user must reach the folder: the test scratch folder may sit in a root-only
        // TMPDIR (make test's mktemp -d is 0700), so then a folder of its own in /tmp.
        if runAs != nil {
            var template = Array("/tmp/omni-pg-\(getpid())-XXXXXX".utf8CString)
            guard let made = mkdtemp(&template) else { throw ClusterError("mkdtemp in /tmp: \(String(cString: strerror(errno)))") }
            folder = String(cString: made)
            chmod(folder, 0o755)
        } else {
            folder = TestScratch.directory("postgres")
        }
        try FileManager.default.createDirectory(atPath: folder + "/socket", withIntermediateDirectories: true)
        try (Self.password + "\n").write(toFile: folder + "/pwfile", atomically: false, encoding: .utf8)
        if let who = runAs, let pw = getpwnam(who) {
            for p in [folder, folder + "/socket", folder + "/pwfile"] { chown(p, pw.pointee.pw_uid, pw.pointee.pw_gid) }
        }
        try Self.run(runAs, bin + "/initdb", ["-D", folder + "/data", "-U", Self.user, "--pwfile=" + folder + "/pwfile", "--auth-local=trust",
                                              "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"], what: "initdb")
        // A port of its own in 44000-44999: another test process may hold one, so a few are tried.
        var lastError: (any Error)?
        for attempt in 0..<8 {
            let p = wanted ?? (44_000 + Int((UInt32(getpid()) &* 7 &+ UInt32(attempt) &* 131 &+ UInt32.random(in: 0..<1_000)) % 1_000))
            do {
                try Self.run(runAs, bin + "/pg_ctl", ["-D", folder + "/data", "-l", folder + "/server.log", "-w", "-t", "60", "-o",
                                                      "-c listen_addresses=127.0.0.1 -p \(p) -k \(folder)/socket -c max_connections=50", "start"],
                             what: "pg_ctl start on port \(p)")
                port = p
                watch()
                return
            } catch {
                lastError = error
                if wanted != nil { break }
            }
        }
        throw lastError ?? ClusterError("no port")
    }

    /// The test runner may end without running atexit handlers (or be killed): a watchdog in a
    /// session of its own stops the server (immediate shutdown) and removes its folder once this
    /// process is gone.
    func watch() {
        let ctl = (runAs.map { "/usr/sbin/runuser -u \($0) -- " } ?? "") + bin + "/pg_ctl"
        let script = "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; \(ctl) -D '\(folder)/data' -m immediate -w stop; rm -rf '\(folder)'"
        _ = try? Self.run(nil, "/bin/sh", ["-c", script], what: "the cluster's watchdog", detached: true)
    }

    /// A new, empty database `name` (letters, digits, underscores).
    public func createDatabase(_ name: String) throws {
        _ = try sql("postgres", "CREATE DATABASE \(name)")
    }

    /// The URL of `database` as the store takes it (with the password).
    public func url(_ database: String) -> String { "postgres://\(Self.user):\(Self.password)@\(host):\(port)/\(database)" }

    /// Runs `statements` in `database` as the superuser through psql (the unix socket), stopping
    /// at the first error; returns what it printed (unaligned, tuples only). A refused statement
    /// throws with the server's words.
    @discardableResult
    public func sql(_ database: String, _ statements: String) throws -> String {
        try Self.run(runAs, bin + "/psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", socketFolder, "-p", String(port), "-U", Self.user,
                                            "-d", database, "-c", statements], what: "psql")
    }

    /// Stops the server (fast shutdown) once; the folder goes with TestScratch's.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        _ = try? Self.run(runAs, bin + "/pg_ctl", ["-D", folder + "/data", "-m", "fast", "-w", "-t", "30", "stop"], what: "pg_ctl stop")
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Runs `tool` (as `user` through runuser where given) and returns its output; a non-zero exit
    /// throws with the output. posix_spawn and waitpid, not Foundation's Process (whose
    /// waitUntilExit was seen to miss a child's exit here), with an empty signal mask and default
    /// handlers (the server must get pg_ctl's signals), output to a file (the server keeps no pipe of ours).
    @discardableResult
    static func run(_ user: String?, _ tool: String, _ args: [String], what: String, detached: Bool = false) throws -> String {
        let exe = user == nil ? tool : "/usr/sbin/runuser"
        let argv = (user.map { ["runuser", "-u", $0, "--", tool] } ?? [tool]) + args
        let out = detached ? "/dev/null" : TestScratch.path("postgres-cmd-\(UInt64.random(in: 0...UInt64.max)).out")
        defer { if !detached { unlink(out) } }
        var env = ProcessInfo.processInfo.environment
        env["LC_ALL"] = "C"
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in cArgs + cEnv { free(p) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (detached ? 0x80 : 0))) // 0x80: POSIX_SPAWN_SETSID
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, exe, &actions, &attr, cArgs, cEnv)
        guard spawned == 0 else { throw ClusterError("\(what): \(exe) did not start: \(String(cString: strerror(spawned)))") }
        if detached { return "" }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        let exited = status & 0x7f == 0, code = (status >> 8) & 0xff
        guard exited && code == 0 else { throw ClusterError("\(what) \(exited ? "exited \(code)" : "killed by signal \(status & 0x7f)"): \(text)") }
        return text
    }

    public struct ClusterError: Error, CustomStringConvertible {
        public let description: String
        init(_ d: String) { description = "postgres test cluster: " + d }
    }
}
