import HummingbirdBcrypt
import OmniConfig
import OmniControl
import OmniTrading
import Testing

@Suite struct AccessTokenTests {
    static let hash = Bcrypt.hash("s3cret", cost: 4)

    @Test func theTokensFileIsReadWithItsRoles() throws {
        let t = try TokenFile.parse("""
        tokens:
          - {name: ann, role: risk_officer, bcrypt: "\(Self.hash)"}
          - {name: bob, role: viewer, bcrypt: "\(Self.hash)"}
        """)
        #expect(t.map(\.name) == ["ann", "bob"] && t.map(\.role) == [.riskOfficer, .viewer])
        let auth = Authenticator(t)
        #expect(auth.identify("s3cret")?.name == "ann", "the first entry whose hash matches")
        #expect(auth.identify("s3cret ") == nil && auth.identify("") == nil)
    }

    @Test func aBadTokensFileIsRefusedByKeyAndLine() {
        let cases: [(String, String, Int?)] = [
            ("tokens:\n  - {name: ann, role: boss, bcrypt: \"\(Self.hash)\"}\n", "tokens[0].role", 2),
            ("tokens:\n  - name: ann\n    role: admin\n    hash: x\n", "tokens[0].hash", 4),
            ("tokens:\n  - {name: ann, role: admin, bcrypt: plain}\n", "tokens[0].bcrypt", 2),
            ("tokens:\n  - {name: ann, role: admin, bcrypt: \"\(Self.hash)\"}\n  - {name: ann, role: viewer, bcrypt: \"\(Self.hash)\"}\n", "tokens[1].name", 3),
            ("tokens: []\n", "tokens", 1),
        ]
        for (yaml, key, line) in cases {
            #expect(throws: ConfigError.self) { try TokenFile.parse(yaml) }
            do { _ = try TokenFile.parse(yaml) } catch {
                #expect(error.key == key && error.line == line, "\(error)")
            }
        }
    }

    @Test func rolesAllowWhatTheIssueSays() {
        #expect(ControlAction.allCasesForTest.allSatisfy { ControlRole.admin.may($0) })
        #expect(ControlRole.viewer.may(.read) && !ControlRole.viewer.may(.kill) && !ControlRole.viewer.may(.trade))
        #expect(ControlRole.trader.may(.trade) && ControlRole.trader.may(.kill) && ControlRole.trader.may(.setLimits))
        #expect(!ControlRole.trader.may(.raiseLimits) && !ControlRole.trader.may(.resetKill))
        #expect(ControlRole.riskOfficer.may(.raiseLimits) && ControlRole.riskOfficer.may(.resetKill) && !ControlRole.riskOfficer.may(.trade))
    }

    @Test func theRunConfigurationsControlKey() throws {
        #expect(try RunConfig(yaml: "control: off").control.listen == nil)
        let c = try RunConfig(yaml: "control:\n  listen: 127.0.0.1:9470\n  tokens: /etc/omni/tokens.yaml\n")
        #expect(c.control.listen == RunConfig.HostPort(host: "127.0.0.1", port: 9470) && c.control.tokens == "/etc/omni/tokens.yaml")
        #expect(RunConfig().control.listen?.port == 8470)
        #expect(try RunConfig(yaml: "control: {listen: \"127.0.0.1:0\"}").control.listen?.port == 0, "any free port")
        do { _ = try RunConfig(yaml: "status_every: 1\ncontrol:\n  lisen: 127.0.0.1:1\n"); Issue.record("a misspelt key was accepted") } catch {
            #expect(error.key == "control.lisen" && error.line == 3, "\(error)")
        }
    }
}

extension ControlAction {
    static let allCasesForTest: [ControlAction] = [.read, .trade, .kill, .setLimits, .raiseLimits, .resetKill]
}
