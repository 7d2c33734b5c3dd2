#if canImport(Glibc)
import Glibc
#endif

/// The one PRNG: xoshiro256** (Blackman & Vigna), seeded through MurmurHash3's 64-bit
/// finalizer so nearby seeds diverge. The same seed gives the same stream on every platform,
/// so generated days, order flow and randomised tests repeat exactly. Not for secrets.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        func fmix(_ k: UInt64) -> UInt64 {
            var h = k
            h ^= h >> 33; h &*= 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 33; h &*= 0xC4CE_B9FE_1A85_EC53
            return h ^ (h >> 33)
        }
        s0 = fmix(seed &+ 0x6A09_E667_F3BC_C909)
        s1 = fmix(seed &+ 0xBB67_AE85_84CA_A73B)
        s2 = fmix(seed &+ 0x3C6E_F372_FE94_F82B)
        s3 = fmix(seed &+ 0xA54F_F53A_5F1D_36F1)
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 } // the one state xoshiro cannot leave
    }

    @inlinable @inline(__always) public mutating func next() -> UInt64 {
        let r = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return r
    }

    /// Uniform in [0, 1).
    @inlinable @inline(__always) public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
    /// Exponential with mean 1.
    @inlinable @inline(__always) public mutating func exponential() -> Double { -log(1 - unit()) }
    /// Failures before the first success, success probability `p`, capped at 20.
    public mutating func geometric(_ p: Double) -> Int {
        var k = 0
        while k < 20 && unit() >= p { k += 1 }
        return k
    }
}
