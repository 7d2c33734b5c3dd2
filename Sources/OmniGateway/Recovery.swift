/// An order entry's recovery after a logon again: on from the logon until the venue has answered
/// everything it received before the disconnect (each protocol says when), its end reported once
/// (`takeEnded`) so the runner can settle the requests lost with the connection.
struct Recovery {
    private(set) var isOn = false
    private var endedUnreported = false

    mutating func begin() { isOn = true; endedUnreported = false }
    mutating func end() {
        guard isOn else { return }
        isOn = false
        endedUnreported = true
    }
    mutating func takeEnded() -> Bool {
        defer { endedUnreported = false }
        return endedUnreported
    }
}
