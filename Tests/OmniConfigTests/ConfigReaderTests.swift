import OmniConfig
import Testing

@Suite("The one configuration reader")
struct ConfigReaderTests {
    func top(_ yaml: String, known: [String]) throws(ConfigError) -> [String: ConfigNode] {
        let r = ConfigReader()
        guard let root = try ConfigReader.document(yaml) else { return [:] }
        return try r.mapping(root, "", known: known)
    }

    /// A key given twice was silently last-wins (a second `fix:` block dropped the first's store).
    @Test func aDuplicateKeyIsRefusedWithItsLine() {
        #expect {
            _ = try top("fix:\n  port: 1\nouch: {}\nfix:\n  store: /x\n", known: ["fix", "ouch"])
        } throws: { e in
            let c = e as! ConfigError
            return c.key == "fix" && c.line == 4 && c.problem.contains("given twice")
        }
        #expect(throws: ConfigError.self) {
            let r = ConfigReader()
            let m = try top("a: {b: 1, b: 2}\n", known: ["a"])
            _ = try r.mapping(m["a"]!, "a", known: ["b"])
        }
    }

    @Test func anUnknownKeyIsRefusedWithTheKnownOnes() {
        #expect {
            _ = try top("wiat: backoff\n", known: ["wait"])
        } throws: { e in
            let c = e as! ConfigError
            return c.key == "wiat" && c.line == 1 && c.problem.contains("known here: wait")
        }
    }

    @Test func integersAreRangeCheckedFromTheirText() throws {
        let m = try top("n: 18446744073709551616\nm: 12\n", known: ["n", "m"])
        let r = ConfigReader()
        #expect(throws: ConfigError.self) { _ = try r.integer(m["n"]!, "n", UInt64.min...UInt64.max) }
        #expect(try r.integer(m["m"]!, "m", 1...12) == 12)
        #expect(throws: ConfigError.self) { _ = try r.integer(m["m"]!, "m", 1...11) }
    }

    @Test func badYAMLIsNamedAsTheFile() {
        #expect { _ = try ConfigReader.document("a: [\n") } throws: { ($0 as! ConfigError).key == "(file)" }
    }
}
