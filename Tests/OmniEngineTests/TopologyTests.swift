import Glibc
import Testing
import OmniEngine

@Suite("Topology files")
struct TopologyTests {
    let valid = """
    stages:
      - name: decode
        core: 0
        wait: spin
      - name: book
        core: 1
        wait: spin-yield
      - name: strategy
        core: 1
        wait: backoff
    rings:
      - from: decode
        to: book
        capacity: 4096
      - from: book
        to: strategy
        capacity: 1024
    """

    /// The error a YAML text is rejected with, or nil when it is accepted.
    func rejection(_ yaml: String, cores: Int = 4) -> TopologyError? {
        do {
            _ = try Topology(yaml: yaml, onlineCores: cores)
            return nil
        } catch {
            return error
        }
    }

    @Test func validTopologyParses() throws {
        let t = try Topology(yaml: valid, onlineCores: 2)
        #expect(t.stages == [
            StageSpec(name: "decode", core: 0, wait: .spin),
            StageSpec(name: "book", core: 1, wait: .spinYield),
            StageSpec(name: "strategy", core: 1, wait: .backoff),
        ])
        #expect(t.rings == [RingSpec(from: "decode", to: "book", capacity: 4096),
                            RingSpec(from: "book", to: "strategy", capacity: 1024)])
        #expect(t.stageOrder == ["decode", "book", "strategy"])
    }

    @Test func stagesOnOneCoreAreFused() throws {
        let t = try Topology(yaml: valid, onlineCores: 2)
        #expect(t.fusedGroups == [["book", "strategy"]])
        #expect(t.areFused("book", "strategy"))
        #expect(!t.areFused("decode", "book"))
        #expect(t.crossesCores(t.rings[0]))
        #expect(!t.crossesCores(t.rings[1]))
    }

    @Test func waitDefaultsToSpinAndRingsAreOptional() throws {
        let t = try Topology(yaml: "stages:\n  - name: all\n    core: 0\n", onlineCores: 1)
        #expect(t.stages == [StageSpec(name: "all", core: 0, wait: .spin)])
        #expect(t.rings.isEmpty)
        #expect(t.fusedGroups.isEmpty)
    }

    @Test func unknownStageInRingIsNamed() {
        let e = rejection(valid.replacingFirst("to: strategy", with: "to: stratgy"))
        #expect(e == .unknownStage(name: "stratgy", ringIndex: 1, end: "to"))
        #expect("\(e!)".contains("stratgy") && "\(e!)".contains("rings[1].to"))
    }

    @Test func duplicateStageIsNamed() {
        let e = rejection(valid.replacingFirst("name: book", with: "name: decode"))
        #expect(e == .duplicateStage(name: "decode"))
        #expect("\(e!)".contains("'decode'"))
    }

    @Test func coreOutOfRangeIsNamed() {
        let e = rejection(valid, cores: 1)
        #expect(e == .coreOutOfRange(stage: "book", core: 1, onlineCores: 1))
        #expect("\(e!)".contains("'book'") && "\(e!)".contains("core 1"))
        #expect(rejection(valid.replacingFirst("core: 0", with: "core: -1")) == .coreOutOfRange(stage: "decode", core: -1, onlineCores: 4))
    }

    @Test func capacityMustBeAPowerOfTwo() {
        let e = rejection(valid.replacingFirst("capacity: 1024", with: "capacity: 1000"))
        #expect(e == .badCapacity(ringIndex: 1, capacity: 1000))
        #expect("\(e!)".contains("1000") && "\(e!)".contains("power of two"))
        #expect(rejection(valid.replacingFirst("capacity: 1024", with: "capacity: 1")) == .badCapacity(ringIndex: 1, capacity: 1))
        #expect(rejection(valid.replacingFirst("capacity: 1024", with: "capacity: 0")) == .badCapacity(ringIndex: 1, capacity: 0))
    }

    @Test func cycleNamesItsStages() {
        let yaml = valid + "\n  - from: strategy\n    to: book\n    capacity: 64\n"
        let e = rejection(yaml)
        #expect(e == .cycle(stages: ["book", "strategy", "book"]))
        #expect("\(e!)".contains("book -> strategy -> book"))
        let selfLoop = valid + "\n  - from: decode\n    to: decode\n    capacity: 64\n"
        #expect(rejection(selfLoop) == .cycle(stages: ["decode", "decode"]))
    }

    /// The key and line a file is refused for (a `.config` rejection), or nil.
    func configKey(_ yaml: String) -> (key: String, problem: String, line: Int?)? {
        guard case .config(let e) = rejection(yaml) else { return nil }
        return (e.key, e.problem, e.line)
    }

    @Test func missingKeyNamesKeyAndIndex() {
        let e = configKey(valid.replacingFirst("    core: 1\n    wait: spin-yield", with: "    wait: spin-yield"))
        #expect(e?.key == "stages[1]" && e?.problem == "missing key 'core'")
        #expect(configKey(valid.replacingFirst("    capacity: 4096\n", with: ""))?.key == "rings[0]")
        #expect(configKey("rings: []\n")?.problem == "missing key 'stages'")
    }

    @Test func wrongTypeNamesKeyAndIndex() {
        let e = configKey(valid.replacingFirst("core: 0", with: "core: zero"))
        #expect(e?.key == "stages[0].core" && e?.problem.hasPrefix("expected an integer") == true && e?.line == 3)
        #expect(configKey(valid.replacingFirst("capacity: 4096", with: "capacity: [1]"))?.key == "rings[0].capacity")
        #expect(configKey("stages: 3\n")?.problem == "expected a list, found \"3\"")
    }

    @Test func unknownWaitIsNamed() {
        let e = configKey(valid.replacingFirst("wait: backoff", with: "wait: nap"))
        #expect(e?.key == "stages[2].wait" && e?.problem.contains("unknown wait 'nap'") == true)
    }

    /// D16: a misspelt key (`wiat: backoff`) ran as the default spin; any unknown key is refused.
    @Test func unknownKeysAreRefused() {
        let e = configKey(valid.replacingFirst("wait: backoff", with: "wiat: backoff"))
        #expect(e?.key == "stages[2].wiat" && e?.problem.contains("unknown key") == true && e?.line == 10)
        #expect(configKey(valid + "\ncolour: red\n")?.key == "colour")
        #expect(configKey(valid.replacingFirst("capacity: 1024", with: "capacity: 1024\n    size: 2"))?.key == "rings[1].size")
    }

    /// D16: 2^40 is a power of two; the refusal says it is too large.
    @Test func anOversizedCapacityIsCalledTooLarge() {
        let e = rejection(valid.replacingFirst("capacity: 1024", with: "capacity: 1099511627776"))
        #expect(e == .badCapacity(ringIndex: 1, capacity: 1 << 40))
        #expect("\(e!)".contains("above the largest ring"))
    }

    @Test func malformedYAMLAndEmptyStagesAreRejected() {
        #expect(configKey("stages: [ {name: a, core: 0\n")?.key == "(file)")
        #expect(configKey("- a\n- b\n")?.problem.contains("expected a mapping") == true)
        #expect(rejection("stages: []\n") == .noStages)
    }

    let loop = """
    stages:
      - {name: strategy, core: 0}
      - {name: gateway, core: 0}
      - {name: journal, core: 1}
    rings:
      - from: strategy
        to: gateway
        capacity: 64
        port: orders
        full: drop
      - from: gateway
        to: strategy
        capacity: 64
        feedback: true
      - from: [strategy, gateway]
        to: journal
        capacity: 1024
    """

    @Test func ringKeysPortFeedbackFullAndFanInParse() throws {
        let t = try Topology(yaml: loop, onlineCores: 2)
        #expect(t.rings == [
            RingSpec(from: "strategy", to: "gateway", capacity: 64, port: "orders", feedback: false, full: .drop),
            RingSpec(from: "gateway", to: "strategy", capacity: 64, port: "out", feedback: true, full: .block),
            RingSpec(producers: ["strategy", "gateway"], to: "journal", capacity: 1024),
        ])
        #expect(t.rings.map(\.kind) == [.spsc, .spsc, .mpsc])
        #expect(t.stageOrder == ["strategy", "gateway", "journal"])
        // Same core: the forward ring is fused; the feedback ring and the MPSC ring never are.
        #expect(t.rings.map(t.isFused) == [true, false, false])
    }

    @Test func aCycleThroughAFeedbackRingIsAllowedOneWithoutIsRefusedByItsStages() {
        #expect(rejection(loop) == nil)
        let unmarked = loop.replacingFirst("feedback: true", with: "feedback: false")
        #expect(rejection(unmarked) == .cycle(stages: ["strategy", "gateway", "strategy"]))
        #expect("\(TopologyError.cycle(stages: ["strategy", "gateway", "strategy"]))"
            == "rings form a cycle without a feedback ring: strategy -> gateway -> strategy (mark a ring of it `feedback: true`)")
        // A feedback ring elsewhere does not excuse a cycle it is not part of.
        let elsewhere = """
        stages: [{name: a, core: 0}, {name: b, core: 0}, {name: c, core: 0}]
        rings:
          - {from: a, to: b, capacity: 8}
          - {from: b, to: c, capacity: 8}
          - {from: c, to: a, capacity: 8}
          - {from: c, to: b, capacity: 8, feedback: true}
        """
        #expect(rejection(elsewhere) == .cycle(stages: ["a", "b", "c", "a"]))
    }

    @Test func newRingKeysAreCheckedByName() {
        let full = configKey(loop.replacingFirst("full: drop", with: "full: wait"))
        #expect(full?.key == "rings[0].full" && full?.problem == "unknown full 'wait' (one of block, drop)" && full?.line == 10)
        let flag = configKey(loop.replacingFirst("feedback: true", with: "feedback: maybe"))
        #expect(flag?.key == "rings[1].feedback" && flag?.problem == "expected true or false, found \"maybe\"")
        #expect(configKey(loop.replacingFirst("feedback: true", with: "fedback: true"))?.key == "rings[1].fedback")
        #expect(configKey(loop.replacingFirst("port: orders", with: "port: [orders]"))?.key == "rings[0].port")
        #expect(configKey(loop.replacingFirst("[strategy, gateway]", with: "[strategy, [gateway]]"))?.key == "rings[2].from[1]")
        #expect(configKey(loop.replacingFirst("[strategy, gateway]", with: "[]"))?.key == "rings[2].from")
        #expect(rejection(loop.replacingFirst("[strategy, gateway]", with: "[strategy, gatway]"))
            == .unknownStage(name: "gatway", ringIndex: 2, end: "from"))
        #expect(rejection(loop.replacingFirst("[strategy, gateway]", with: "[gateway, gateway]"))
            == .duplicateProducer(ringIndex: 2, name: "gateway"))
    }

    @Test func unreadableFileNamesThePath() {
        let path = "/nonexistent/omni-topology.yaml"
        do {
            _ = try Topology(contentsOf: path, onlineCores: 2)
            Issue.record("expected an error")
        } catch {
            #expect(error == .unreadable(path: path, reason: "No such file or directory"))
            #expect("\(error)".contains(path))
        }
    }

    @Test func fileIsReadAndValidated() throws {
        var template = Array("/tmp/omni-topology-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        #expect(fd >= 0)
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { unlink(path) }
        _ = valid.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        let t = try Topology(contentsOf: path, onlineCores: 2)
        #expect(t.stages.count == 3 && t.rings.count == 2)
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let r = range(of: target) else { fatalError("no '\(target)' in the text") }
        return replacingCharacters(in: r, with: replacement)
    }
}
