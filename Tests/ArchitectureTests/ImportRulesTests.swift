import Foundation
import Testing

/// DESIGN.md's direction rules, read from the `import` lines of Sources/: a broken rule fails
/// naming the file and the import. The house is cut by direction: our side (market data in,
/// orders out) never imports the venue's side, and the venue never imports ours.
@Suite("Import rules of the layout")
struct ImportRulesTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources").path

    static let ourSide: Set = ["OmniBook", "OmniFeed", "OmniFeedDpdk", "OmniStrategy", "OmniRisk", "OmniOrders",
                               "OmniGateway", "OmniTrading", "OmniControl"]
    static let venueSide: Set = ["OmniVenue"]
    static let tools: Set = ["OmniLab", "OmniBench"]
    /// Modules both sides build on; they import neither side nor the tools.
    static let shared: Set = ["OmniCore", "OmniConfig", "OmniNet", "OmniWire", "OmniEngine", "OmniDpdk"]
    static let dpdkModules: Set = ["CDpdk", "OmniDpdk"]
    /// Who may import DPDK: its own wrapper, the DPDK feed path, and executables.
    static let dpdkAllowed: Set = ["OmniDpdk", "OmniFeedDpdk", "omni", "omni-dpdk-probe"]

    /// (module, file relative to Sources/, imported module) for every import line.
    static func imports() throws -> [(module: String, file: String, imported: String)] {
        var out: [(String, String, String)] = []
        let fm = FileManager.default
        for module in try fm.contentsOfDirectory(atPath: sources).sorted() {
            guard let files = fm.enumerator(atPath: sources + "/" + module) else { continue }
            for case let f as String in files where f.hasSuffix(".swift") {
                let text = try String(contentsOfFile: "\(sources)/\(module)/\(f)", encoding: .utf8)
                for line in text.split(separator: "\n") {
                    var words = line.split(separator: " ").map(String.init)
                    while let w = words.first, w.hasPrefix("@") || ["public", "package", "internal"].contains(w) { words.removeFirst() }
                    guard words.first == "import", words.count >= 2 else { continue }
                    // `import struct Module.Type` names the module after the kind.
                    let name = words.count >= 3 && ["struct", "class", "enum", "protocol", "func", "var", "typealias"].contains(words[1]) ? words[2] : words[1]
                    out.append((module, "\(module)/\(f)", String(name.split(separator: ".")[0])))
                }
            }
        }
        return out
    }

    func violations(_ rule: (String, String) -> Bool) throws -> [String] {
        try Self.imports().filter { rule($0.module, $0.imported) }.map { "Sources/\($0.file): import \($0.imported)" }
    }

    @Test func theSourcesAreFound() throws {
        let all = try Self.imports()
        #expect(all.contains { $0.module == "OmniVenue" } && all.contains { $0.module == "OmniFeed" }, "no Sources/ at \(Self.sources)")
    }

    @Test func ourSideNeverImportsTheVenueNorTheTools() throws {
        let bad = try violations { m, i in Self.ourSide.contains(m) && (Self.venueSide.contains(i) || Self.tools.contains(i)) }
        #expect(bad.isEmpty, "our side imports the venue's side or a tool:\n\(bad.joined(separator: "\n"))")
    }

    @Test func theVenueNeverImportsOurSideNorTheTools() throws {
        let bad = try violations { m, i in Self.venueSide.contains(m) && (Self.ourSide.contains(i) || Self.tools.contains(i)) }
        #expect(bad.isEmpty, "the venue imports our side or a tool:\n\(bad.joined(separator: "\n"))")
    }

    @Test func sharedModulesImportNeitherSide() throws {
        let bad = try violations { m, i in
            Self.shared.contains(m) && (Self.ourSide.contains(i) || Self.venueSide.contains(i) || Self.tools.contains(i))
        }
        #expect(bad.isEmpty, "a shared module imports a side or a tool:\n\(bad.joined(separator: "\n"))")
    }

    @Test func onlyTheDpdkPathsReachDpdk() throws {
        let bad = try violations { m, i in Self.dpdkModules.contains(i) && !Self.dpdkAllowed.contains(m) }
        #expect(bad.isEmpty, "DPDK reached outside OmniDpdk, OmniFeedDpdk and the executables:\n\(bad.joined(separator: "\n"))")
    }

    @Test func omniCoreImportsNothingOfOurs() throws {
        let bad = try violations { m, i in m == "OmniCore" && (i.hasPrefix("Omni") || i.hasPrefix("C") && i.first!.isUppercase && i.dropFirst().first?.isUppercase == true) }
        #expect(bad.isEmpty, "OmniCore imports a module of ours:\n\(bad.joined(separator: "\n"))")
    }

    /// Every module under Sources/ is placed in one of the groups above, so a new one is a decision.
    @Test func everyModuleHasAPlace() throws {
        let modules = Set(try Self.imports().map(\.module))
        let placed = Self.ourSide.union(Self.venueSide).union(Self.tools).union(Self.shared)
        let unplaced = modules.filter { !placed.contains($0) && !$0.hasPrefix("omni") }.sorted()
        #expect(unplaced.isEmpty, "modules with no place in the import rules: \(unplaced)")
    }
}
