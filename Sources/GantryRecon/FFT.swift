import CFFTW
import Foundation
import GantryCore

/// Centred, orthonormal N-D FFTs on FFTW (single precision), as fastMRI and atommic define them:
/// `fftshift(fft(ifftshift(x))) / sqrt(N)` over the last `rank` axes, batched over the leading ones.
///
/// Plans are made once per (shape, batch, direction) on aligned FFTW buffers and reused; planning is
/// serialised (FFTW's planner is not thread-safe), execution is not: each call works in an aligned
/// buffer of its own (FFTW's new-array execute), so slices transformed at once with one plan do not
/// wait for each other. The centring shifts are folded into the copies in and out of that buffer,
/// so they cost nothing extra. How plans are made (`FFTPlanning`) is the program's choice.
public struct FFTPlanning: Sendable, Equatable {
    /// Large transforms planned with FFTW_MEASURE (seconds, once per shape; else FFTW_ESTIMATE).
    public var measure: Bool
    /// Where FFTW's wisdom (measured plans) is kept between runs; nil: not kept.
    public var wisdomPath: String?

    public init(measure: Bool = true, wisdomPath: String? = NSHomeDirectory() + "/.cache/gantry/fftwf.wisdom") {
        self.measure = measure; self.wisdomPath = wisdomPath
    }

    /// As a program's environment asks (the program passes it): GANTRY_FFTW_PLANNER=estimate plans
    /// without measuring; GANTRY_FFTW_WISDOM names the wisdom file.
    public init(environment env: [String: String]) {
        self.init(measure: env["GANTRY_FFTW_PLANNER"] != "estimate")
        if let p = env["GANTRY_FFTW_WISDOM"] { wisdomPath = p }
    }
}

public final class FFTPlan: @unchecked Sendable {
    /// Transform shape, C order (e.g. [ky, kx] or [kz, ky, kx]); the last axis is contiguous.
    public let shape: [Int]
    /// Number of transforms done together (e.g. coils × slices).
    public let batch: Int
    let count: Int
    let forwardPlan: fftwf_plan
    let inversePlan: fftwf_plan
    /// Aligned work buffers not in use (the planning buffer first), taken and given back under `lock`.
    private var spare: [UnsafeMutablePointer<fftwf_complex>]
    private let lock = NSLock()
    /// All axes even: the centring shifts become sign flips, (−1)^(Σn) on input and
    /// (−1)^(Σk + ΣN/2) on output, applied during contiguous copies (no gathers).
    let allEven: Bool
    /// Odd sizes: the centring shifts are cyclic rotations, done a row at a time as two contiguous
    /// copies — the source row of each destination row (in rows of the last axis, in and out) and
    /// the rotation of the last axis. Made once.
    let rowsIn: [Int]
    let rowsOut: [Int]

    // Planner state: read and written only with `planLock` held (FFTW's planner is not
    // thread-safe, so planning is serialised anyway), which the compiler cannot see.
    nonisolated(unsafe) private static var cache: [String: FFTPlan] = [:]
    private static let planLock = NSLock()
    nonisolated(unsafe) private static var threadsReady = false
    nonisolated(unsafe) private static var planning = FFTPlanning()

    /// Sets how plans are made from now on (the command line calls it once, before any transform).
    public static func setPlanning(_ p: FFTPlanning) {
        planLock.lock(); defer { planLock.unlock() }
        planning = p
    }

    /// The cached plan for `shape` × `batch` (made on first use). `serial`: one thread per
    /// transform (for callers that run several transforms at once), measured from 2¹⁶ values.
    public static func plan(shape: [Int], batch: Int = 1, serial: Bool = false) throws -> FFTPlan {
        guard (1...3).contains(shape.count), shape.allSatisfy({ $0 > 0 }), batch > 0 else {
            throw GantryError.invalidArgument("FFT shape \(shape) × batch \(batch) is not a 1–3-D transform")
        }
        let key = "\(shape)x\(batch)\(serial ? "serial" : "")"
        planLock.lock(); defer { planLock.unlock() }
        if let p = cache[key] { return p }
        let p = try FFTPlan(shape: shape, batch: batch, serial: serial)
        cache[key] = p
        return p
    }

    /// Must be called with `planLock` held.
    private init(shape: [Int], batch: Int, serial: Bool) throws {
        self.shape = shape
        self.batch = batch
        count = shape.reduce(1, *)
        guard let b = fftwf_alloc_complex(count * batch) else {
            throw GantryError.invalidArgument("cannot allocate FFT buffer for \(shape) × \(batch)")
        }
        spare = [b]
        if !FFTPlan.threadsReady {
            fftwf_init_threads()
            FFTPlan.threadsReady = true
        }
        // Threads only pay off for large transforms.
        fftwf_plan_with_nthreads(Int32(!serial && count * batch >= 1 << 18 ? Parallel.threads : 1))
        var n = shape.map { Int32($0) }
        let dist = Int32(count)
        // Large transforms are planned with FFTW_MEASURE (seconds, once), remembered in a wisdom file.
        let large = count * batch >= (serial ? 1 << 16 : 1 << 18) && FFTPlan.planning.measure
        if large { FFTPlan.loadWisdom() }
        let flags = UInt32(large ? FFTW_MEASURE : FFTW_ESTIMATE)
        guard let f = fftwf_plan_many_dft(Int32(shape.count), &n, Int32(batch), b, nil, 1, dist, b, nil, 1, dist, FFTW_FORWARD, flags),
              let i = fftwf_plan_many_dft(Int32(shape.count), &n, Int32(batch), b, nil, 1, dist, b, nil, 1, dist, FFTW_BACKWARD, flags) else {
            fftwf_free(b)
            throw GantryError.invalidArgument("FFTW could not plan \(shape) × \(batch)")
        }
        forwardPlan = f
        inversePlan = i
        if large { FFTPlan.saveWisdom() }
        allEven = shape.allSatisfy { $0 % 2 == 0 }
        let leading = Array(shape.dropLast())
        rowsIn = allEven ? [] : CenteredIndex.map(shape: leading, shift: leading.map { $0 / 2 })          // buf[k] = x[(k + n/2) % n]
        rowsOut = allEven ? [] : CenteredIndex.map(shape: leading, shift: leading.map { $0 - $0 / 2 })    // y[k] = buf[(k + n − n/2) % n]
    }

    /// Touched only from `init`, with `planLock` held.
    nonisolated(unsafe) static var wisdomLoaded = false

    static func loadWisdom() {
        guard !wisdomLoaded, let wisdomPath = planning.wisdomPath else { return }
        wisdomLoaded = true
        if FileManager.default.fileExists(atPath: wisdomPath) { _ = fftwf_import_wisdom_from_filename(wisdomPath) }
    }

    static func saveWisdom() {
        guard let wisdomPath = planning.wisdomPath else { return }
        let dir = (wisdomPath as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tmp = wisdomPath + ".tmp-\(getpid())"
        if fftwf_export_wisdom_to_filename(tmp) != 0 { rename(tmp, wisdomPath) } else { unlink(tmp) }
    }

    deinit {
        fftwf_destroy_plan(forwardPlan)
        fftwf_destroy_plan(inversePlan)
        for b in spare { fftwf_free(b) }
    }

    /// Runs `body` with an aligned work buffer no other call is using: a spare one, or a new one
    /// (fftwf's allocator gives the alignment the plans were made with).
    private func withWorkBuffer<T>(_ body: (UnsafeMutablePointer<fftwf_complex>) throws -> T) throws -> T {
        lock.lock()
        let taken = spare.popLast()
        lock.unlock()
        guard let b = taken ?? fftwf_alloc_complex(count * batch) else {
            throw GantryError.invalidArgument("cannot allocate FFT buffer for \(shape) × \(batch)")
        }
        defer { lock.lock(); spare.append(b); lock.unlock() }
        return try body(b)
    }

    /// Runs the bare FFTW plan on a work buffer (no centring, scaling or copies): the floor the
    /// wrapper is benchmarked against.
    public func rawExecute(inverse: Bool = false) throws {
        try withWorkBuffer { fftwf_execute_dft(inverse ? inversePlan : forwardPlan, $0, $0) }
    }

    /// For even shapes the centred orthonormal transform is σ ⊙ FFT(χ ⊙ x) with the checkerboard
    /// χ = (−1)^(Σ indices) and σ = `centringScale`·χ, in both directions.
    public var centringScale: Float? { FFTPlan.centringScale(shape: shape) }

    /// `centringScale` of a transform of `shape` (nil unless every axis is even).
    public static func centringScale(shape: [Int]) -> Float? {
        guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 && $0 % 2 == 0 }) else { return nil }
        let scale = Float(1 / Double(shape.reduce(1, *)).squareRoot())
        return shape.reduce(0) { $0 + $1 / 2 } & 1 == 0 ? scale : -scale
    }

    /// Runs `body` with a work buffer of `batch`·∏shape interleaved complex values and a function
    /// that transforms it in place by the bare plan (uncentred, unscaled): for callers that fold
    /// the centring (`centringScale`) into passes of their own.
    public func withBareTransform<T>(_ body: (UnsafeMutablePointer<Float>, (_ inverse: Bool) -> Void) throws -> T) throws -> T {
        try withWorkBuffer { work in
            try body(UnsafeMutableRawPointer(work).assumingMemoryBound(to: Float.self)) { inverse in
                fftwf_execute_dft(inverse ? self.inversePlan : self.forwardPlan, work, work)
            }
        }
    }

    /// Centred orthonormal forward FFT, in place on interleaved (re, im) data of `batch · ∏shape` values.
    public func forward(_ data: inout [Float]) throws { try run(&data, inverse: false) }

    /// Centred orthonormal inverse FFT, in place.
    public func inverse(_ data: inout [Float]) throws { try run(&data, inverse: true) }

    /// dst[i] = first·(−1)^i·src[i] for `count` complex values: the checkerboard that centres the
    /// transform, 8 complex values a time (an alternating scalar sign is a loop-carried dependency
    /// the compiler does not vectorise: the two passes were 15 % of a CS-L1 reconstruction).
    @inline(__always)
    static func modulate(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int, first: Float) {
        typealias V = SIMD16<Float>
        let pattern = V(1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1) * first
        var i = 0
        while 2 * i + V.scalarCount <= 2 * count {
            UnsafeMutableRawPointer(dst + 2 * i).storeBytes(of: UnsafeRawPointer(src + 2 * i).loadUnaligned(as: V.self) * pattern, as: V.self)
            i += V.scalarCount / 2
        }
        var sgn = i % 2 == 0 ? first : -first
        while i < count {
            dst[2 * i] = sgn * src[2 * i]; dst[2 * i + 1] = sgn * src[2 * i + 1]
            sgn = -sgn; i += 1
        }
    }

    /// dst[i] = scale·src[i], 16 floats a time (the odd-size centring copies; a scalar loop here was
    /// a fifth of a CS reconstruction).
    @inline(__always)
    static func scaledCopy(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int, scale: Float) {
        typealias V = SIMD16<Float>
        var i = 0
        while i + V.scalarCount <= count {
            UnsafeMutableRawPointer(dst + i).storeBytes(of: UnsafeRawPointer(src + i).loadUnaligned(as: V.self) * scale, as: V.self)
            i += V.scalarCount
        }
        while i < count { dst[i] = src[i] * scale; i += 1 }
    }

    private func run(_ data: inout [Float], inverse: Bool) throws {
        guard data.count == 2 * count * batch else {
            throw GantryError.invalidArgument("FFT of \(shape) × \(batch) needs \(2 * count * batch) floats, got \(data.count)")
        }
        try withWorkBuffer { work in
            let plan = inverse ? inversePlan : forwardPlan
            let scale = Float(1 / Double(count).squareRoot())
            let buf = UnsafeMutableRawPointer(work).assumingMemoryBound(to: Float.self)
            let n = count
            data.withUnsafeMutableBufferPointer { x in
                let xp = x.baseAddress!
                if allEven {
                    let nx = shape[shape.count - 1], rows = n / nx
                    let lines = rows * batch
                    // Parity of the coordinate sum of row r (all axes but the last).
                    let rowShape = Array(shape.dropLast())
                    func parity(_ r: Int) -> Int {
                        var r = r, p = 0
                        for a in stride(from: rowShape.count - 1, through: 0, by: -1) { p += r % rowShape[a]; r /= rowShape[a] }
                        return p & 1
                    }
                    let chunks = lines * nx >= 1 << 16 ? Parallel.threads : 1
                    Parallel.forEach(chunks) { c in
                        for line in (lines * c / chunks)..<(lines * (c + 1) / chunks) {
                            let o = 2 * line * nx
                            FFTPlan.modulate(xp + o, into: buf + o, count: nx, first: parity(line % rows) == 0 ? 1 : -1)
                        }
                    }
                    fftwf_execute_dft(plan, work, work)
                    let outSign = centringScale ?? scale  // all even here: never nil
                    Parallel.forEach(chunks) { c in
                        for line in (lines * c / chunks)..<(lines * (c + 1) / chunks) {
                            let o = 2 * line * nx
                            FFTPlan.modulate(buf + o, into: xp + o, count: nx, first: parity(line % rows) == 0 ? outSign : -outSign)
                        }
                    }
                    return
                }
                let nx = shape[shape.count - 1], rows = n / nx, lines = rows * batch
                let chunks = lines * nx >= 1 << 16 ? Parallel.threads : 1
                // dst row r ← src row map[r], its columns rotated left by `shift`: two contiguous runs.
                func rotate(_ from: UnsafeMutablePointer<Float>, _ to: UnsafeMutablePointer<Float>, map: [Int], shift: Int, scale: Float) {
                    Parallel.forEach(chunks) { c in
                        for line in (lines * c / chunks)..<(lines * (c + 1) / chunks) {
                            let (b, r) = (line / rows, line % rows)
                            let src = from + 2 * (b * n + map[r] * nx), dst = to + 2 * (b * n + r * nx)
                            let head = nx - shift
                            FFTPlan.scaledCopy(src + 2 * shift, into: dst, count: 2 * head, scale: scale)
                            FFTPlan.scaledCopy(src, into: dst + 2 * head, count: 2 * shift, scale: scale)
                        }
                    }
                }
                rotate(xp, buf, map: rowsIn, shift: nx / 2, scale: 1)
                fftwf_execute_dft(plan, work, work)
                rotate(buf, xp, map: rowsOut, shift: nx - nx / 2, scale: scale)
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
