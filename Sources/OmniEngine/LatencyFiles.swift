// Latency output files of `omni bench`, `omni run` and `omni sim`: HdrHistogram percentile
// text and an SVG plot of the percentile curves. Off the hot path.
import CSys
import Histogram
import OmniCore

#if canImport(Glibc)
import Glibc
#endif

/// Writes `text` to `path` (created or truncated).
func writeTextFile(_ text: String, to path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw LatencyFileError(message: "cannot open \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var t = text
    try t.withUTF8 { u in
        var off = 0
        while off < u.count {
            let n = write(fd, u.baseAddress! + off, u.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw LatencyFileError(message: "cannot write \(path): \(String(cString: strerror(errno)))")
            }
            off += n
        }
    }
}

struct LatencyFileError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// One latency distribution to write and draw.
public struct LatencyCurve {
    public let name: String     // file suffix: FILE.<name>.hgrm
    public let label: String    // legend
    public let color: String
    public let dashed: Bool
    public let histogram: Histogram<UInt64>

    public init(name: String, label: String, color: String, dashed: Bool, histogram: Histogram<UInt64>) {
        self.name = name; self.label = label; self.color = color; self.dashed = dashed; self.histogram = histogram
    }
}

/// FILE.hgrm → FILE.<curve name>.hgrm, one per curve with samples; returns the paths written.
public func writeHistograms(_ curves: [LatencyCurve], to file: String) throws -> [String] {
    let stem = file.hasSuffix(".hgrm") ? String(file.dropLast(5)) : file
    var written: [String] = []
    for c in curves where c.histogram.totalCount > 0 {
        var text = ""
        c.histogram.outputPercentileDistribution(to: &text, outputValueUnitScalingRatio: 1.0)
        let path = "\(stem).\(c.name).hgrm"
        try writeTextFile(text, to: path)
        written.append(path)
    }
    return written
}

/// A histogram read back from HdrHistogram percentile text (what `writeHistograms` writes, from
/// this process or another): each row's count since the previous row recorded at its value.
/// Values are the rows' bucket edges, so percentiles come back at the text's resolution. Nil when
/// the file cannot be read or holds no row.
public func readHistogram(hgrm path: String) -> Histogram<UInt64>? {
    guard case .success(let text) = readTextFile(path) else { return nil }
    var h = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 1 << 40, numberOfSignificantValueDigits: .three)
    var seen: UInt64 = 0
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        let f = line.split(separator: " ")
        guard f.count >= 3, let value = Double(f[0]), let total = UInt64(f[2]), total >= seen else { continue }
        if total > seen { _ = h.record(min(UInt64(value), 1 << 40), count: total - seen) }
        seen = total
    }
    return h.totalCount > 0 ? h : nil
}

/// Percentile curves: x = log10(1 / (1 - percentile)) ("nines"), y = log10(ns).
public func writePlot(_ latencies: [LatencyCurve], title: String, subtitle: String, yLabel: String, to path: String) throws {
    struct Curve { let label: String; let color: String; let dashed: Bool; let points: [(Double, Double)] }
    let maxNines = 6.0
    var curves: [Curve] = []
    for c in latencies where c.histogram.totalCount > 0 {
        var pts: [(Double, Double)] = []
        for iv in c.histogram.percentiles(ticksPerHalfDistance: 5) {
            let p = iv.percentileLevelIteratedTo / 100
            let x = p >= 1 ? maxNines : Swift.min(maxNines, log10(1 / (1 - p)))
            pts.append((x, log10(Double(Swift.max(iv.value, 1)))))
            if p >= 1 || x >= maxNines { break }
        }
        curves.append(Curve(label: c.label, color: c.color, dashed: c.dashed, points: pts))
    }
    let allY = curves.flatMap { $0.points.map(\.1) }
    let yLo = floor(allY.min() ?? 1), yHi = Swift.max(ceil(allY.max() ?? 2), yLo + 1)
    let xHi = Swift.max(1, ceil(curves.flatMap { $0.points.map(\.0) }.max() ?? 1))
    let w = 900.0, h = 560.0, left = 80.0, right = 200.0, top = 50.0, bottom = 60.0
    let pw = w - left - right, ph = h - top - bottom
    func sx(_ x: Double) -> Double { left + x / xHi * pw }
    func sy(_ y: Double) -> Double { top + ph - (y - yLo) / (yHi - yLo) * ph }
    func f(_ v: Double) -> String { fixed(v, 1) }
    var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">\n"
    s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    s += "<text x=\"\(f(left))\" y=\"20\" font-size=\"15\">\(xmlEscape(title))</text>\n"
    s += "<text x=\"\(f(left))\" y=\"38\" font-size=\"11\" fill=\"#555\">\(xmlEscape(subtitle))</text>\n"
    // Grid and axes.
    let xLabels = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"]
    for i in 0...Int(xHi) {
        let x = sx(Double(i))
        s += "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(top + ph))\" stroke=\"#ddd\"/>\n"
        s += "<text x=\"\(f(x))\" y=\"\(f(top + ph + 18))\" text-anchor=\"middle\">\(i < xLabels.count ? xLabels[i] : "")</text>\n"
    }
    var decade = yLo
    while decade <= yHi {
        for m in [1.0, 2.0, 5.0] {
            let y = decade + log10(m)
            if y > yHi { break }
            let py = sy(y)
            s += "<line x1=\"\(f(left))\" y1=\"\(f(py))\" x2=\"\(f(left + pw))\" y2=\"\(f(py))\" stroke=\"\(m == 1 ? "#ccc" : "#eee")\"/>\n"
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(py + 4))\" text-anchor=\"end\">\(nsLabel(pow(10, y)))</text>\n"
        }
        decade += 1
    }
    s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"#333\"/>\n"
    s += "<text x=\"\(f(left + pw / 2))\" y=\"\(f(h - 15))\" text-anchor=\"middle\">percentile (log scale of 1/(1-p))</text>\n"
    s += "<text transform=\"translate(18,\(f(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">\(xmlEscape(yLabel)) (ns, log scale)</text>\n"
    // Curves (a step line through the histogram's percentile points) and the legend.
    for (i, c) in curves.enumerated() {
        var d = ""
        for (j, p) in c.points.enumerated() {
            d += (j == 0 ? "M" : " L") + "\(f(sx(p.0))),\(f(sy(p.1)))"
        }
        s += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(c.color)\" stroke-width=\"1.8\"\(c.dashed ? " stroke-dasharray=\"6,4\"" : "")/>\n"
        let ly = top + 10 + Double(i) * 20
        s += "<line x1=\"\(f(left + pw + 15))\" y1=\"\(f(ly))\" x2=\"\(f(left + pw + 45))\" y2=\"\(f(ly))\" stroke=\"\(c.color)\" stroke-width=\"2\"\(c.dashed ? " stroke-dasharray=\"6,4\"" : "")/>\n"
        s += "<text x=\"\(f(left + pw + 52))\" y=\"\(f(ly + 4))\">\(xmlEscape(c.label))</text>\n"
    }
    s += "</svg>\n"
    try writeTextFile(s, to: path)
}

private func nsLabel(_ ns: Double) -> String {
    let v = ns.rounded()
    if v >= 1_000_000_000 { return String(Int((v / 1e9).rounded())) + " s" }
    if v >= 1_000_000 { return String(Int((v / 1e6).rounded())) + " ms" }
    if v >= 1_000 { return String(Int((v / 1e3).rounded())) + " µs" }
    return String(Int(v)) + " ns"
}

private func xmlEscape(_ s: String) -> String {
    var out = ""
    for ch in s {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(ch)
        }
    }
    return out
}
