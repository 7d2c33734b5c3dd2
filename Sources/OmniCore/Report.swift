// Numbers and lines as the reports of every command print them: grouped, fixed decimals,
// padded; lines to stderr. Off the hot path.
#if canImport(Glibc)
import Glibc
#endif

public func stderrLine(_ s: String) { writeStderr(s + "\n") }

public func writeStderr(_ s: String) {
    var t = s
    t.withUTF8 { u in _ = write(2, u.baseAddress, u.count) }
}

/// 12345678 → "12,345,678"
public func grouped(_ v: UInt64) -> String {
    let s = String(v)
    var out = ""
    for (i, ch) in s.enumerated() {
        if i > 0 && (s.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return out
}

public func fixed(_ v: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let r = (v * scale).rounded() / scale
    if decimals == 0, r.magnitude < 9e18 { return String(Int64(r)) }
    var s = String(r)
    if let dot = s.firstIndex(of: ".") {
        let have = s.distance(from: dot, to: s.endIndex) - 1
        if have < decimals { s += String(repeating: "0", count: decimals - have) }
    } else if decimals > 0 {
        s += "." + String(repeating: "0", count: decimals)
    }
    return s
}

public func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let v = values.sorted()
    return v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
}

public func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
}
