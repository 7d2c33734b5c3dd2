import Glibc
import OmniWire
import SharedTestData
import Testing

/// The FIX store's write-behind: records are copied at send and written at commit (one write a
/// pass), reading the log commits first, and what was committed is what a later store reads.
@Suite struct FixStoreTests {
    func size(_ path: String) -> Int {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : -1
    }

    func record(_ store: FixFileStore, _ seq: UInt64, _ text: String) {
        Array(text.utf8).withUnsafeBufferPointer { store.recordSent(seq: seq, bytes: $0) }
    }

    let messages = (1...3).map { "8=FIX.4.4\u{1}9=12\u{1}35=0\u{1}34=\($0)\u{1}10=000\u{1}" }

    @Test func recordsReachTheFilesAtCommit() throws {
        let dir = TestScratch.directory("fix-store")
        let store = try #require(FixFileStore(directory: dir, sender: "OURS", target: "THEIRS"))
        for (i, m) in messages.enumerated() { record(store, UInt64(i + 1), m) }
        #expect(size(dir + "/OURS-THEIRS.log") == 0 && store.nextSender == 4)
        store.commit()
        let expected = messages.enumerated().reduce(0) { $0 + "\($1.offset + 1) \($1.element.utf8.count)\n".utf8.count + $1.element.utf8.count + 1 }
        #expect(size(dir + "/OURS-THEIRS.log") == expected)
        let again = try #require(FixFileStore(directory: dir, sender: "OURS", target: "THEIRS", create: false))
        #expect(again.nextSender == 4 && again.message(2) == Array(messages[1].utf8))
    }

    @Test func readingTheLogCommitsFirst() throws {
        let dir = TestScratch.directory("fix-store")
        let store = try #require(FixFileStore(directory: dir, sender: "OURS", target: "THEIRS"))
        record(store, 1, messages[0])
        record(store, 2, messages[1])
        #expect(store.message(2) == Array(messages[1].utf8) && store.message(1) == Array(messages[0].utf8))
        record(store, 3, messages[2]) // indexed now: the pending record's place is remembered
        #expect(store.message(3) == Array(messages[2].utf8))
    }

    /// A record larger than the write-behind buffer (256 KiB) goes straight to the log, after
    /// what was pending, and reads back whole.
    @Test func aRecordLargerThanTheBufferIsWrittenThrough() throws {
        let dir = TestScratch.directory("fix-store")
        let store = try #require(FixFileStore(directory: dir, sender: "OURS", target: "THEIRS"))
        record(store, 1, messages[0])
        let big = "58=" + String(repeating: "x", count: 300_000) + "\u{1}"
        record(store, 2, big)
        record(store, 3, messages[2])
        store.commit()
        #expect(store.message(1) == Array(messages[0].utf8))
        #expect(store.message(2) == Array(big.utf8))
        #expect(store.message(3) == Array(messages[2].utf8))
    }
}
