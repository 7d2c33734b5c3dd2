import Foundation
import SharedTestData
import Testing

/// README.md's command summary (the block under "## omni") names every option each command's
/// `--help` names, and no other: the summary cannot drift from the tool.
@Suite("README's command summary against --help")
struct ReadmeOptionsTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("README.md").path

    func help(_ path: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: OmniTool.binary)
        p.arguments = path + ["--help"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// The first column under a help section's heading: each entry at two spaces' indent, up to
    /// the two spaces before its text ("  -h, --help   Show ...").
    func entries(_ help: String, section: String) -> [String] {
        guard let body = help.components(separatedBy: section + ":\n").dropFirst().first else { return [] }
        var names: [String] = []
        for line in body.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty { break }
            guard line.hasPrefix("  "), !line.hasPrefix("   ") else { continue }
            names.append(line.dropFirst(2).components(separatedBy: "  ")[0])
        }
        return names
    }

    /// Every leaf command: `omni` with its subcommands walked down.
    func commands(_ path: [String] = []) throws -> [[String]] {
        let subs = entries(try help(path), section: "SUBCOMMANDS").map { $0.components(separatedBy: " ")[0] }
        guard !subs.isEmpty else { return [path] }
        return try subs.flatMap { try commands(path + [$0]) }
    }

    func options(in text: some StringProtocol) -> Set<String> {
        Set(text.split(whereSeparator: { " []\n,|/".contains($0) }).filter { $0.hasPrefix("--") && $0.count > 2 }
            .map { String($0.prefix { $0 == "-" || $0.isLetter || $0.isNumber }) })
    }

    @Test("every command's line in the summary names exactly the options of its --help", .enabled(if: OmniTool.present, OmniTool.absent))
    func summaryMatchesHelp() throws {
        let readme = try String(contentsOfFile: Self.readme, encoding: .utf8)
        let block = try #require(readme.components(separatedBy: "## omni\n\n```\n").dropFirst().first?.components(separatedBy: "```").first,
                                 "README.md has no command summary under \"## omni\"")
        // A command's summary: its line and the indented lines after it.
        var summary: [String: String] = [:]
        var current: String?
        for line in block.split(separator: "\n") {
            if line.hasPrefix("omni ") {
                let words = line.split(separator: " ").prefix { !$0.hasPrefix("[") && !$0.hasPrefix("-") && $0.first!.isLowercase }
                current = words.joined(separator: " ")
                summary[current!] = String(line)
            } else if let c = current {
                summary[c]! += "\n" + line
            }
        }
        let leaves = try commands()
        #expect(leaves.count >= 20, "the walk found \(leaves.count) commands")
        for path in leaves {
            let name = (["omni"] + path).joined(separator: " ")
            let line = try #require(summary[name], "README's summary has no line for \(name)")
            let helpOptions = options(in: entries(try help(path), section: "OPTIONS").joined(separator: " ")).subtracting(["--help"])
            #expect(options(in: line) == helpOptions, "\(name): README \(options(in: line).sorted()) vs --help \(helpOptions.sorted())")
        }
        #expect(Set(summary.keys) == Set(leaves.map { (["omni"] + $0).joined(separator: " ") }), "README lists a command omni does not have")
    }
}
