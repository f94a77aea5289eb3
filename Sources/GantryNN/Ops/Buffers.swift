import GantryCore
import GantryLinearAlgebra

/// Fresh result buffers written once, in parallel. `[Float](repeating: 0, …)` followed by a fill,
/// or `var y = x.data` followed by an in-place update, touches every value twice (memset or
/// memmove, then the op); on the RIM's 128 × 320² activations those extra passes cost as much as
/// the arithmetic. Each op below allocates without initialising and writes every value once.
enum Buffers {
    /// Values per parallel chunk of a flat elementwise loop (small ops stay on one thread).
    static let chunk = 1 << 16

    /// `body(range)` over `0..<n` in chunks of `chunk`, in parallel when `n` is large enough.
    @inline(__always)
    static func forEachChunk(_ n: Int, _ body: (Range<Int>) -> Void) {
        Parallel.forEach((n + chunk - 1) / chunk, work: n) { j in body((j * chunk)..<min(n, (j + 1) * chunk)) }
    }

    /// `n` values, each chunk written by `fill(out, range)`; every index in the range must be set.
    @inline(__always)
    static func make(_ n: Int, _ fill: (UnsafeMutablePointer<Float>, Range<Int>) -> Void) -> [Float] {
        guard n > 0 else { return [] }
        return [Float](unsafeUninitializedCapacity: n) { buf, initialised in
            let p = buf.baseAddress!
            forEachChunk(n) { r in fill(p, r) }
            initialised = n
        }
    }

    /// `planes · inner` values, plane j written by `fill(out + j·inner, j)`.
    @inline(__always)
    static func planes(_ planes: Int, inner: Int, _ fill: (UnsafeMutablePointer<Float>, Int) -> Void) -> [Float] {
        let n = planes * inner
        guard n > 0 else { return [] }
        return [Float](unsafeUninitializedCapacity: n) { buf, initialised in
            let p = buf.baseAddress!
            Parallel.forEach(planes, work: n) { j in fill(p + j * inner, j) }
            initialised = n
        }
    }

    // The element loops live in the callers' closures (one call per chunk, concrete arithmetic
    // the compiler vectorises); a per-element closure call would not vectorise.

    /// A new array from one operand: `body(out, a, range)` writes out[i] for i in range.
    @inline(__always)
    static func unary(_ a: [Float], _ body: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Range<Int>) -> Void) -> [Float] {
        a.withUnsafeBufferPointer { ab in
            let ap = ab.baseAddress
            return make(a.count) { o, r in body(o, ap.unsafelyUnwrapped, r) }
        }
    }

    /// A new array from two operands of equal length.
    @inline(__always)
    static func binary(_ a: [Float], _ b: [Float], _ body: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, Range<Int>) -> Void) -> [Float] {
        precondition(a.count == b.count, "elementwise op on \(a.count) and \(b.count) values")
        return a.withUnsafeBufferPointer { ab in b.withUnsafeBufferPointer { bb in
            let (ap, bp) = (ab.baseAddress, bb.baseAddress)
            return make(a.count) { o, r in body(o, ap.unsafelyUnwrapped, bp.unsafelyUnwrapped, r) }
        } }
    }

    /// A new array from three operands of equal length.
    @inline(__always)
    static func ternary(_ a: [Float], _ b: [Float], _ c: [Float],
                        _ body: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, Range<Int>) -> Void) -> [Float] {
        precondition(a.count == b.count && b.count == c.count, "elementwise op on \(a.count), \(b.count) and \(c.count) values")
        return a.withUnsafeBufferPointer { ab in b.withUnsafeBufferPointer { bb in c.withUnsafeBufferPointer { cb in
            let (ap, bp, cp) = (ab.baseAddress, bb.baseAddress, cb.baseAddress)
            return make(a.count) { o, r in body(o, ap.unsafelyUnwrapped, bp.unsafelyUnwrapped, cp.unsafelyUnwrapped, r) }
        } } }
    }

    /// a[i] += b[i] in place, in parallel chunks.
    static func add(_ b: [Float], into a: inout [Float]) {
        precondition(a.count == b.count, "accumulate \(b.count) values into \(a.count)")
        let n = a.count
        a.withUnsafeMutableBufferPointer { ab in b.withUnsafeBufferPointer { bb in
            guard let ap = ab.baseAddress, let bp = bb.baseAddress else { return }
            forEachChunk(n) { r in for i in r { ap[i] += bp[i] } }
        } }
    }

    /// Per-plane sums of `planes · inner` values (a bias gradient before folding the batch), as BLAS
    /// dot products with ones: one running sum is a chain of dependent adds the compiler may not
    /// reorder (it would change the rounding), many times slower on long planes.
    static func planeSums(_ g: [Float], planes: Int, inner: Int) -> [Float] {
        var sums = [Float](repeating: 0, count: planes)
        let ones = [Float](repeating: 1, count: inner)
        g.withUnsafeBufferPointer { gb in sums.withUnsafeMutableBufferPointer { sb in ones.withUnsafeBufferPointer { ob in
            guard let gp = gb.baseAddress, let sp = sb.baseAddress, let op = ob.baseAddress else { return }
            Parallel.forEach(planes, work: planes * inner) { j in sp[j] = BLAS.dot(inner, gp + j * inner, op) }
        } } }
        return sums
    }

    /// The gradient of a per-channel bias over [N, C, inner]: Σ over samples and positions.
    static func channelSums(_ g: [Float], n: Int, c: Int, inner: Int) -> [Float] {
        let sums = planeSums(g, planes: n * c, inner: inner)
        var out = [Float](repeating: 0, count: c)
        for j in 0..<(n * c) { out[j % c] += sums[j] }
        return out
    }
}
