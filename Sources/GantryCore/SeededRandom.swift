/// A small, fast, seedable generator (SplitMix64) so phantoms, sampling masks and training are
/// reproducible bit for bit on every machine (Swift's `SystemRandomNumberGenerator` is not seedable).
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    /// A generator for a sub-stream (e.g. subject `index` of a study seeded with `seed`).
    public init(seed: UInt64, stream: UInt64) {
        var g = SeededRandom(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        _ = g.next()
        self = g
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in [a, b).
    public mutating func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * uniform() }

    /// Standard normal (Box–Muller).
    public mutating func normal() -> Double {
        let u1 = max(uniform(), 1e-300), u2 = uniform()
        return (-2 * _log(u1)).squareRoot() * _cos(2 * .pi * u2)
    }
}

import Foundation
@inline(__always) func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Foundation.cos(x) }
