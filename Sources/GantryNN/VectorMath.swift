/// exp, sigmoid and tanh sixteen floats at a time. glibc's scalar `expf`/`tanhf` (tanhf through
/// `expm1f`) were a third of a GRU recurrent inference machine's time, one call per value; these
/// are straight-line vector code with the accuracy of single precision (tested against Double
/// over their whole range: exp and sigmoid within 1.4e-7 relative, tanh within 2.4e-7 — relative,
/// or absolute where |tanh x| < 1e-3).
public enum VectorMath {
    public typealias V = SIMD16<Float>

    /// e^x: x = n·ln 2 + r with |r| ≤ ln 2 / 2 (ln 2 split in two so n·ln 2 is exact), e^r by its
    /// Taylor polynomial to r⁷ (remainder < 1e-8 relative), 2^n put into the exponent bits.
    /// Arguments are clamped to [−87.3, 88.3] (2^n stays a normal float); NaN stays NaN.
    @inline(__always)
    public static func exp(_ x: V) -> V {
        let lo = V(repeating: -87.3), hi = V(repeating: 88.3)
        let x = x.replacing(with: lo, where: x .< lo).replacing(with: hi, where: x .> hi)
        let n = (x * 1.442_695_04).rounded(.toNearestOrEven)
        let r = (x - n * 0.693_359_375) - n * -2.121_944_4e-4
        var p = V(repeating: 1.0 / 5040)
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        // n + 1.5·2²³ holds n + 2²² in its low mantissa bits: an exact conversion to Int32
        let whole = unsafeBitCast(n + 12_582_912, to: SIMD16<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((whole &+ 127) &<< 23, to: V.self)
        return (p * scale).replacing(with: x, where: x .!= x)  // NaN stays NaN
    }

    /// 1 / (1 + e^−x).
    @inline(__always)
    public static func sigmoid(_ x: V) -> V {
        1 / (1 + exp(-x))
    }

    /// tanh x: its odd Taylor series to x¹¹ where |x| < 0.25 (remainder < 3e-11 relative), else
    /// sign(x)·(1 − 2 / (e^{2|x|} + 1)).
    @inline(__always)
    public static func tanh(_ x: V) -> V {
        let a = x.replacing(with: -x, where: x .< 0)
        let big = 1 - 2 / (exp(2 * a) + 1)
        let x2 = x * x
        var p = V(repeating: -1382.0 / 155_925)
        p = p * x2 + 62.0 / 2835
        p = p * x2 - 17.0 / 315
        p = p * x2 + 2.0 / 15
        p = p * x2 - 1.0 / 3
        let small = x + x * x2 * p
        let signed = big.replacing(with: -big, where: x .< 0)
        return signed.replacing(with: small, where: a .< 0.25)
    }

    /// `count` ≤ 16 floats from `p` in the first lanes (zeros after): the last, partial group of a
    /// loop goes through the same vector code, so a value's result does not depend on its position.
    @inline(__always)
    public static func load(_ p: UnsafePointer<Float>, count: Int) -> V {
        if count == V.scalarCount { return UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        var v = V()
        for i in 0..<count { v[i] = p[i] }
        return v
    }

    /// The first `count` lanes of `v` to `p`.
    @inline(__always)
    public static func store(_ v: V, to p: UnsafeMutablePointer<Float>, count: Int) {
        if count == V.scalarCount { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self); return }
        for i in 0..<count { p[i] = v[i] }
    }
}
