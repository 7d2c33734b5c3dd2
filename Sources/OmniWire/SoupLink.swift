import CSys
import CWire
import Glibc
import OmniNet

/// A SoupBinTCP failure, naming the endpoint (`host:port`) and what went wrong.
public struct SoupError: Error, CustomStringConvertible, Equatable, Sendable {
    public let endpoint: String
    public let problem: String
    public init(endpoint: String, problem: String) { self.endpoint = endpoint; self.problem = problem }
    public var description: String { "SoupBinTCP \(endpoint): \(problem)" }
}

/// One TCP connection speaking SoupBinTCP: a receive buffer walked by cw_soup_rx and a
/// send buffer flushed without blocking. Buffers are allocated once, at creation.
package final class SoupLink {
    package let fd: Int32
    package let endpoint: String
    package let rx: UnsafeMutablePointer<cw_soup_rx>
    private let rxStorage: UnsafeMutablePointer<UInt8>
    private let tx: UnsafeMutablePointer<UInt8>
    package let txCapacity: Int
    private var txHead = 0, txTail = 0
    package var lastReceiveNs: UInt64
    package var lastSendNs: UInt64
    package var closed = false
    /// Sends through io_uring instead of send(2) (nil: send(2)); the bytes in flight are
    /// `tx[txHead..<txHead + inFlight]`, which nothing moves until the completion is reaped.
    private var sender: RingSender?
    private var inFlight = 0
    package var senderStats: RingSenderStats? { sender?.stats }

    package init(fd: Int32, endpoint: String, maxPacket: UInt16, txCapacity: Int, now: UInt64, sender: RingSender? = nil) {
        self.fd = fd
        self.sender = sender
        self.endpoint = endpoint
        let storage = cw_soup_rx_storage(maxPacket)
        rxStorage = .allocate(capacity: storage)
        rx = .allocate(capacity: 1)
        _ = cw_soup_rx_init(rx, rxStorage, storage, maxPacket)
        self.txCapacity = txCapacity
        tx = .allocate(capacity: txCapacity)
        lastReceiveNs = now
        lastSendNs = now
    }

    deinit {
        close()
        sender = nil // waits for a send in flight: its bytes are in `tx`
        rxStorage.deallocate()
        rx.deallocate()
        tx.deallocate()
    }

    package func close() {
        if !closed { closed = true; Glibc.close(fd) }
    }

    package enum ReadResult: Equatable { case ok, peerClosed, failed(Int32) }

    /// Reads what the socket holds (up to the free room); packets are then taken with `next`.
    package func read(now: UInt64) -> ReadResult {
        while true {
            var dst: UnsafeMutablePointer<UInt8>?
            let room = cw_soup_rx_space(rx, &dst)
            if room == 0 { return .ok }
            let n = recv(fd, dst, room, 0)
            if n > 0 {
                _ = cw_soup_rx_commit(rx, n)
                lastReceiveNs = now
                if n < room { return .ok }
                continue
            }
            if n == 0 { return .peerClosed }
            if errno == EAGAIN || errno == EWOULDBLOCK { return .ok }
            if errno == EINTR { continue }
            return .failed(errno)
        }
    }

    @inline(__always) package func next(_ pkt: inout cw_soup_packet) -> cw_soup_status { cw_soup_rx_next(rx, &pkt) }

    package var txFree: Int { txCapacity - txTail + txHead }
    package var txPending: Int { txTail - txHead }

    /// Lets `body` write at most `max` bytes at the send buffer's end; returns false when they do not fit.
    @inline(__always)
    package func append(max: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) -> Bool {
        if txCapacity - txTail < max {
            if txFree < max || inFlight > 0 { return false }
            let n = txTail - txHead
            if n > 0 { memmove(tx, tx + txHead, n) }
            txHead = 0
            txTail = n
        }
        txTail += body(tx + txTail)
        return true
    }

    /// Sends a packet with no payload (heartbeats, logout, end of session).
    package func appendEmpty(_ type: UInt8) -> Bool {
        append(max: 3) { cw_soup_put_empty($0, 3, type) }
    }

    /// Sends a packet of `type` carrying `payload`.
    package func appendPacket(_ type: UInt8, _ payload: UnsafeRawBufferPointer) -> Bool {
        append(max: payload.count + 3) {
            cw_soup_put_packet($0, payload.count + 3, type, payload.baseAddress?.assumingMemoryBound(to: UInt8.self), payload.count)
        }
    }

    /// Writes what the socket takes. Returns an errno on a failed connection, else 0.
    package func flush(now: UInt64) -> Int32 {
        if let sender { return flush(sender, now: now) }
        while txHead < txTail {
            let n = send(fd, tx + txHead, txTail - txHead, Int32(MSG_NOSIGNAL))
            if n > 0 {
                txHead += n
                lastSendNs = now
                continue
            }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return 0 }
            if n < 0 && errno == EINTR { continue }
            return n < 0 ? errno : EPIPE
        }
        txHead = 0
        txTail = 0
        return 0
    }

    /// io_uring's flush: takes the completion of the send in flight, then queues what is left
    /// (the rest of a short send, and what was appended meanwhile) as one send.
    private func flush(_ sender: RingSender, now: UInt64) -> Int32 {
        if inFlight > 0 {
            guard let r = sender.reap() else { return 0 }
            inFlight = 0
            if r > 0 {
                txHead += Int(r)
                lastSendNs = now
            } else if r != -EAGAIN && r != -EINTR {
                return r < 0 ? -r : EPIPE
            }
        }
        if txHead == txTail {
            txHead = 0
            txTail = 0
            return 0
        }
        let rc = sender.send(tx + txHead, count: txTail - txHead)
        if rc < 0 { return -rc }
        inFlight = txTail - txHead
        return 0
    }
}



/// Bytes of a fixed C char array field (token, stock, session...) as a Swift string, trailing spaces trimmed.
package func fieldText<T>(_ field: T) -> String {
    withUnsafeBytes(of: field) { raw in
        var end = raw.count
        while end > 0 && (raw[end - 1] == 0x20 || raw[end - 1] == 0) { end -= 1 }
        var start = 0
        while start < end && raw[start] == 0x20 { start += 1 }
        return String(decoding: raw[start..<end], as: UTF8.self)
    }
}
