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

    @Test func missingKeyNamesKeyAndIndex() {
        let e = rejection(valid.replacingFirst("    core: 1\n    wait: spin-yield", with: "    wait: spin-yield"))
        #expect(e == .missingKey(key: "core", section: "stages", index: 1))
        #expect("\(e!)" == "stages[1]: missing key 'core'")
        #expect(rejection(valid.replacingFirst("    capacity: 4096\n", with: "")) == .missingKey(key: "capacity", section: "rings", index: 0))
        #expect(rejection("rings: []\n") == .missingKey(key: "stages", section: "topology", index: nil))
    }

    @Test func wrongTypeNamesKeyAndIndex() {
        let e = rejection(valid.replacingFirst("core: 0", with: "core: zero"))
        #expect(e == .wrongType(key: "core", section: "stages", index: 0, expected: "an integer", found: "string \"zero\""))
        #expect("\(e!)".hasPrefix("stages[0].core: expected an integer"))
        #expect(rejection(valid.replacingFirst("capacity: 4096", with: "capacity: [1]")) ==
            .wrongType(key: "capacity", section: "rings", index: 0, expected: "an integer", found: "a list"))
        #expect(rejection("stages: 3\n") == .wrongType(key: "stages", section: "topology", index: nil, expected: "a list", found: "integer 3"))
    }

    @Test func unknownWaitIsNamed() {
        let e = rejection(valid.replacingFirst("wait: backoff", with: "wait: nap"))
        #expect(e == .unknownWait(stage: "strategy", value: "nap"))
    }

    @Test func malformedYAMLAndEmptyStagesAreRejected() {
        if case .invalidYAML = rejection("stages: [ {name: a, core: 0\n") {} else { Issue.record("expected invalidYAML") }
        #expect(rejection("- a\n- b\n") == .notAMapping(section: "topology"))
        #expect(rejection("stages: []\n") == .noStages)
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
