import CFFTW
import Foundation
import GantryCore

/// Centred, orthonormal N-D FFTs on FFTW (single precision), as fastMRI and atommic define them:
/// `fftshift(fft(ifftshift(x))) / sqrt(N)` over the last `rank` axes, batched over the leading ones.
///
/// Plans are made once per (shape, batch, direction) on aligned FFTW buffers and reused; planning is
/// serialised (FFTW's planner is not thread-safe), execution is. The centring shifts are folded into
/// the copies in and out of the aligned buffer, so they cost nothing extra.
public final class FFTPlan: @unchecked Sendable {
    /// Transform shape, C order (e.g. [ky, kx] or [kz, ky, kx]); the last axis is contiguous.
    public let shape: [Int]
    /// Number of transforms done together (e.g. coils × slices).
    public let batch: Int
    let count: Int
    let buffer: UnsafeMutablePointer<fftwf_complex>
    let forwardPlan: fftwf_plan
    let inversePlan: fftwf_plan
    let lock = NSLock()

    nonisolated(unsafe) private static var cache: [String: FFTPlan] = [:]
    private static let planLock = NSLock()
    nonisolated(unsafe) private static var threadsReady = false

    /// The cached plan for `shape` × `batch` (made on first use).
    public static func plan(shape: [Int], batch: Int = 1) throws -> FFTPlan {
        guard (1...3).contains(shape.count), shape.allSatisfy({ $0 > 0 }), batch > 0 else {
            throw GantryError.invalidArgument("FFT shape \(shape) × batch \(batch) is not a 1–3-D transform")
        }
        let key = "\(shape)x\(batch)"
        planLock.lock(); defer { planLock.unlock() }
        if let p = cache[key] { return p }
        let p = try FFTPlan(shape: shape, batch: batch)
        cache[key] = p
        return p
    }

    /// Must be called with `planLock` held.
    private init(shape: [Int], batch: Int) throws {
        self.shape = shape
        self.batch = batch
        count = shape.reduce(1, *)
        guard let b = fftwf_alloc_complex(count * batch) else {
            throw GantryError.invalidArgument("cannot allocate FFT buffer for \(shape) × \(batch)")
        }
        buffer = b
        if !FFTPlan.threadsReady {
            fftwf_init_threads()
            FFTPlan.threadsReady = true
        }
        // Threads only pay off for large transforms.
        fftwf_plan_with_nthreads(Int32(count * batch >= 1 << 18 ? Parallel.threads : 1))
        var n = shape.map { Int32($0) }
        let dist = Int32(count)
        let flags = UInt32(FFTW_ESTIMATE)
        guard let f = fftwf_plan_many_dft(Int32(shape.count), &n, Int32(batch), b, nil, 1, dist, b, nil, 1, dist, FFTW_FORWARD, flags),
              let i = fftwf_plan_many_dft(Int32(shape.count), &n, Int32(batch), b, nil, 1, dist, b, nil, 1, dist, FFTW_BACKWARD, flags) else {
            fftwf_free(b)
            throw GantryError.invalidArgument("FFTW could not plan \(shape) × \(batch)")
        }
        forwardPlan = f
        inversePlan = i
    }

    deinit {
        fftwf_destroy_plan(forwardPlan)
        fftwf_destroy_plan(inversePlan)
        fftwf_free(buffer)
    }

    /// Centred orthonormal forward FFT, in place on interleaved (re, im) data of `batch · ∏shape` values.
    public func forward(_ data: inout [Float]) throws { try run(&data, inverse: false) }

    /// Centred orthonormal inverse FFT, in place.
    public func inverse(_ data: inout [Float]) throws { try run(&data, inverse: true) }

    private func run(_ data: inout [Float], inverse: Bool) throws {
        guard data.count == 2 * count * batch else {
            throw GantryError.invalidArgument("FFT of \(shape) × \(batch) needs \(2 * count * batch) floats, got \(data.count)")
        }
        lock.lock(); defer { lock.unlock() }
        let scale = Float(1 / Double(count).squareRoot())
        // Per-axis index maps: in (ifftshift) and out (fftshift), flattened through strides.
        let src = CenteredIndex.map(shape: shape, shift: shape.map { $0 / 2 })               // buf[k] = x[(k + n/2) % n]
        let dst = CenteredIndex.map(shape: shape, shift: shape.map { $0 - $0 / 2 })          // y[k] = buf[(k + n - n/2) % n]
        let buf = UnsafeMutableRawPointer(buffer).assumingMemoryBound(to: Float.self)
        let n = count
        data.withUnsafeMutableBufferPointer { x in
            let xp = x.baseAddress!
            for b in 0..<batch {
                let base = b * n
                for k in 0..<n {
                    let s = base + src[k]
                    buf[2 * (base + k)] = xp[2 * s]
                    buf[2 * (base + k) + 1] = xp[2 * s + 1]
                }
            }
            fftwf_execute(inverse ? inversePlan : forwardPlan)
            for b in 0..<batch {
                let base = b * n
                for k in 0..<n {
                    let s = base + dst[k]
                    xp[2 * (base + k)] = buf[2 * s] * scale
                    xp[2 * (base + k) + 1] = buf[2 * s + 1] * scale
                }
            }
        }
    }
}

/// Flattened index maps for cyclic shifts of a C-order array.
enum CenteredIndex {
    /// m[k] = flat index of ((k_a + shift_a) mod n_a) for every multi-index k.
    static func map(shape: [Int], shift: [Int]) -> [Int] {
        var m = [0]
        var stride = 1
        var parts: [[Int]] = []
        for (n, s) in zip(shape, shift).reversed() {
            parts.append((0..<n).map { ((($0 + s) % n) * stride) })
            stride *= n
        }
        // Combine from the slowest axis to the fastest.
        for axis in parts.reversed() {
            var next = [Int]()
            next.reserveCapacity(m.count * axis.count)
            for a in m { for b in axis { next.append(a + b) } }
            m = next
        }
        return m
    }
}
