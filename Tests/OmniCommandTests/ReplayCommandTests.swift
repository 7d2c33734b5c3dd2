import OmniCore
import OmniLab
import OmniVenue
import Foundation
import SharedTestData
import Testing

/// `omni replay` on inputs that are no day file (issue 16): a clear error and a non-zero exit.
@Suite("omni replay on hostile inputs", .serialized)
struct ReplayCommandTests {
    func tempPath(_ name: String) -> String { TestScratch.path("replay-\(name)") }

    /// D14: a FIFO hung in open(2) before the regular-file check.
    @Test func aFifoIsRefusedWithoutWaitingForAWriter() throws {
        let path = tempPath("fifo")
        unlink(path)
        #expect(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        let r = try OmniTool.run(["replay", path], timeout: 10)
        #expect(r.status != 0)
        #expect(r.err.contains("not a regular file"), "\(r.err)")
    }

    /// A 4 KB Markdown file printed "0 bytes" and exited 0; now it says what it found.
    @Test func aFileOfNoKnownFormatIsNamedAndFails() throws {
        let path = tempPath("notes.md")
        try String(repeating: "# Notes\nSome text that is no ITCH at all.\n", count: 100).write(toFile: path, atomically: false, encoding: .utf8)
        defer { unlink(path) }
        let r = try OmniTool.run(["replay", path], timeout: 10)
        #expect(r.status != 0)
        #expect(r.err.contains("no known format") && r.err.contains("\"# Notes"), "\(r.err)")
    }

    /// The file line gives the file's size, and what lies past the last whole message.
    @Test func theSummaryGivesTheFileSizeAndTheUnreadTail() throws {
        let path = tempPath("cut.itch")
        // One whole system event (length 12) and a record cut after its length field.
        var bytes: [UInt8] = [0, 12, UInt8(ascii: "S"), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, UInt8(ascii: "O")]
        bytes += [0, 36, UInt8(ascii: "A")]
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let r = try OmniTool.run(["replay", path], timeout: 10)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.line("file")?.contains("(17 bytes, 3 past the last whole message unread") == true, "\(r.out)")
    }
}
