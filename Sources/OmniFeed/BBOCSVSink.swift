import OmniBook
import OmniCore

/// Writes the BBO stream in the form every peer tool can diff:
/// `locate,bid_px,bid_sz,ask_px,ask_sz`, prices in ITCH units, empty side `0,0`, no header.
public struct BBOCSVSink: BBOSink {
    public let out: FileWriter
    public private(set) var rows: UInt64 = 0
    public private(set) var error: FeedError?

    public init(out: FileWriter) { self.out = out }

    public mutating func bboChanged(_ locate: UInt16, _ bbo: BBO) {
        rows &+= 1
        do {
            try out.writeDecimal(UInt64(locate)); try out.writeByte(44)
            try out.writeDecimal(UInt64(bbo.bidPrice.raw)); try out.writeByte(44)
            try out.writeDecimal(bbo.bidSize); try out.writeByte(44)
            try out.writeDecimal(UInt64(bbo.askPrice.raw)); try out.writeByte(44)
            try out.writeDecimal(bbo.askSize); try out.writeByte(10)
        } catch let e as FeedError {
            if error == nil { error = e }
        } catch {}
    }
}
