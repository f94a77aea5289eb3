import GantryCore

/// NIfTI voxel datatypes Gantry reads and writes (codes from nifti1.h).
public enum NIfTIDataType: Int32, CaseIterable, Sendable {
    case uint8 = 2, int16 = 4, int32 = 8, float32 = 16, complex64 = 32, float64 = 64
    case int8 = 256, uint16 = 512, uint32 = 768, int64 = 1024, uint64 = 1280

    /// Bytes per voxel.
    public var size: Int {
        switch self {
        case .uint8, .int8: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32, .float32: return 4
        case .float64, .complex64, .int64, .uint64: return 8
        }
    }

    public var name: String { String(describing: self) }

    /// Parses names such as "uint8", "int16", "float32".
    public init?(name: String) {
        guard let t = NIfTIDataType.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = t
    }

    public var isInteger: Bool { !(self == .float32 || self == .float64 || self == .complex64) }

    /// Representable range for integer types.
    var range: ClosedRange<Double> {
        switch self {
        case .uint8: return 0...255
        case .int8: return -128...127
        case .int16: return -32768...32767
        case .uint16: return 0...65535
        case .int32: return Double(Int32.min)...Double(Int32.max)
        case .uint32: return 0...Double(UInt32.max)
        case .int64: return -9.223372036854775e18...9.223372036854775e18
        case .uint64: return 0...1.8446744073709552e19
        default: return -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude
        }
    }

    /// Human name of any NIfTI code (for error messages about unsupported types).
    static func describe(code: Int32) -> String {
        if let t = NIfTIDataType(rawValue: code) { return t.name }
        switch code {
        case 1: return "binary (code 1)"
        case 128: return "RGB24 (code 128)"
        case 1536: return "float128 (code 1536)"
        case 1792: return "complex128 (code 1792)"
        case 2048: return "complex256 (code 2048)"
        case 2304: return "RGBA32 (code 2304)"
        default: return "unknown datatype code \(code)"
        }
    }
}

/// Decoding and encoding of raw voxel bytes. Loops are written per concrete type (generic helpers
/// specialised at each call) so they vectorise; work is split over `Parallel.threads` in chunks.
enum VoxelCodec {
    /// Converts `count` stored values (little- or big-endian per `swap`) to Float, applying
    /// value = raw · slope + inter when `scale` is given. For complex64, `count` counts floats.
    static func decode(_ src: UnsafeRawPointer, count: Int, type: NIfTIDataType, swap: Bool, scale: (slope: Double, inter: Double)?, into dst: UnsafeMutablePointer<Float>) {
        chunked(count) { lo, hi in
            switch type {
            case .uint8: ints(src, dst, lo, hi, swap, UInt8.self)
            case .int8: ints(src, dst, lo, hi, swap, Int8.self)
            case .int16: ints(src, dst, lo, hi, swap, Int16.self)
            case .uint16: ints(src, dst, lo, hi, swap, UInt16.self)
            case .int32: ints(src, dst, lo, hi, swap, Int32.self)
            case .uint32: ints(src, dst, lo, hi, swap, UInt32.self)
            case .int64: ints(src, dst, lo, hi, swap, Int64.self)
            case .uint64: ints(src, dst, lo, hi, swap, UInt64.self)
            case .float32, .complex64:
                if swap {
                    for i in lo..<hi { dst[i] = Float(bitPattern: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).byteSwapped) }
                } else {
                    (dst + lo).update(from: UnsafeRawPointer(src + 4 * lo).assumingMemoryBound(to: Float.self), count: hi - lo)
                }
            case .float64:
                for i in lo..<hi {
                    let bits = src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)
                    dst[i] = Float(Double(bitPattern: swap ? bits.byteSwapped : bits))
                }
            }
            guard let s = scale else { return }
            if type == .float64 || abs(s.slope) > 1e6 || abs(s.inter) > 1e6 {
                for i in lo..<hi { dst[i] = Float(Double(dst[i]) * s.slope + s.inter) }
            } else {
                let a = Float(s.slope), b = Float(s.inter)
                for i in lo..<hi { dst[i] = dst[i] * a + b }
            }
        }
    }

    @inline(__always)
    private static func ints<T: FixedWidthInteger>(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ lo: Int, _ hi: Int, _ swap: Bool, _: T.Type) {
        if !swap && Int(bitPattern: src) % MemoryLayout<T>.alignment == 0 {
            let p = src.assumingMemoryBound(to: T.self)
            for i in lo..<hi { dst[i] = Float(p[i]) }
        } else {
            for i in lo..<hi {
                let v = src.loadUnaligned(fromByteOffset: MemoryLayout<T>.size * i, as: T.self)
                dst[i] = Float(swap ? v.byteSwapped : v)
            }
        }
    }

    /// Encodes Float voxels as `type` (little-endian), inverting scaling when given. Integer types
    /// are rounded to nearest; a NaN or a value that does not fit is an error (checked before any
    /// conversion, so nothing traps).
    static func encode(_ src: [Float], type: NIfTIDataType, scale: (slope: Double, inter: Double)?, path: String) throws -> [UInt8] {
        let n = src.count
        let bytes = n * (type == .complex64 ? 4 : type.size)
        if type.isInteger {
            // One pass for the range (NaN poisons the comparison and is reported too).
            let (lo, hi, nan) = src.withUnsafeBufferPointer { extremes($0.baseAddress!, count: n) }
            func stored(_ v: Float) -> Double { scale.map { ((Double(v) - $0.inter) / $0.slope).rounded() } ?? Double(v).rounded() }
            let range = type.range
            if nan || n > 0 && !(range.contains(stored(lo)) && range.contains(stored(hi))) {
                let bad = nan ? Float.nan : (range.contains(stored(lo)) ? hi : lo)
                throw GantryError.invalidArgument("\(path): value \(bad) cannot be stored as \(type.name)")
            }
        }
        return [UInt8](unsafeUninitializedCapacity: bytes) { buf, count in
            let o = UnsafeMutableRawPointer(buf.baseAddress!)
            src.withUnsafeBufferPointer { sb in
                let s = sb.baseAddress!
                chunked(n) { lo, hi in
                    switch type {
                    case .float32, .complex64: (o + 4 * lo).copyMemory(from: s + lo, byteCount: 4 * (hi - lo))
                    case .float64:
                        let p = o.assumingMemoryBound(to: Double.self)
                        for i in lo..<hi { p[i] = Double(s[i]) }
                    case .uint8: store(s, o, lo, hi, scale, UInt8.self)
                    case .int8: store(s, o, lo, hi, scale, Int8.self)
                    case .int16: store(s, o, lo, hi, scale, Int16.self)
                    case .uint16: store(s, o, lo, hi, scale, UInt16.self)
                    case .int32: store(s, o, lo, hi, scale, Int32.self)
                    case .uint32: store(s, o, lo, hi, scale, UInt32.self)
                    case .int64: store(s, o, lo, hi, scale, Int64.self)
                    case .uint64: store(s, o, lo, hi, scale, UInt64.self)
                    }
                }
            }
            count = bytes
        }
    }

    @inline(__always)
    private static func store<T: FixedWidthInteger & SIMDScalar>(_ s: UnsafePointer<Float>, _ o: UnsafeMutableRawPointer, _ lo: Int, _ hi: Int, _ scale: (slope: Double, inter: Double)?, _: T.Type) {
        // Values are range-checked already. Converting through a concrete Int64/UInt64 init keeps
        // the loop on the fast hardware conversion (a generic `T(Float)` goes through a slow path).
        let p = o.assumingMemoryBound(to: T.self)
        if T.self == UInt64.self {
            for i in lo..<hi { p[i] = T(truncatingIfNeeded: UInt64(scaled(s[i], scale))) }
        } else if let sc = scale {
            for i in lo..<hi { p[i] = T(truncatingIfNeeded: Int64(((Double(s[i]) - sc.inter) / sc.slope).rounded())) }
        } else {
            var i = lo
            if T.bitWidth <= 16 {
                // Round half away from zero a vector at a time: adding ±(½ − ½ulp) and truncating
                // rounds every Float as the scalar loop below does (LLVM lowers `round` the same way).
                // The integer-valued result (range-checked: |r| ≤ 65535) plus 1.5·2²³ holds r + 2²² in
                // its low mantissa bits, an exact conversion (the stdlib's vector Float → Int32 init is
                // a slow generic loop).
                let half = Chunk(repeating: Float(0.5).nextDown), magic = Chunk(repeating: 12_582_912)
                let bias = SIMD16<Int32>(repeating: Int32(bitPattern: Float(12_582_912).bitPattern))
                while i + Chunk.scalarCount <= hi {
                    let v = UnsafeRawPointer(s + i).loadUnaligned(as: Chunk.self)
                    let r = (v + half.replacing(with: -half, where: v .< 0)).rounded(.towardZero)
                    let whole = unsafeBitCast(r + magic, to: SIMD16<Int32>.self) &- bias
                    UnsafeMutableRawPointer(p + i).storeBytes(of: SIMD16<T>(truncatingIfNeeded: whole), as: SIMD16<T>.self)
                    i += Chunk.scalarCount
                }
            }
            // Round half away from zero without libm's roundf call: adding ±0.5 to a Float is exact
            // in Double, and the conversion truncates.
            for i in i..<hi {
                let v = Double(s[i])
                p[i] = T(truncatingIfNeeded: Int64(v + (v < 0 ? -0.5 : 0.5)))
            }
        }
    }

    typealias Chunk = SIMD16<Float>

    /// Smallest and largest value and whether any is NaN, a vector at a time in parallel chunks
    /// (a scalar `min`/`max` loop does not vectorise: it was a third of an int16 write's time; nor
    /// does `pointwiseMin`, lane by lane; compare-and-blend does).
    static func extremes(_ s: UnsafePointer<Float>, count n: Int) -> (lo: Float, hi: Float, nan: Bool) {
        let chunks = n < (1 << 18) ? 1 : Parallel.threads
        var parts = [(lo: Float, hi: Float, nan: Bool)](repeating: (.infinity, -.infinity, false), count: chunks)
        parts.withUnsafeMutableBufferPointer { pb in
            let out = pb.baseAddress!
            Parallel.forEach(chunks) { c in
                let start = n * c / chunks, end = n * (c + 1) / chunks
                var lo = Chunk(repeating: .infinity), hi = Chunk(repeating: -.infinity), nan = SIMDMask<SIMD16<Int32>>()
                var i = start
                while i + Chunk.scalarCount <= end {
                    let v = UnsafeRawPointer(s + i).loadUnaligned(as: Chunk.self)
                    lo.replace(with: v, where: v .< lo); hi.replace(with: v, where: v .> hi); nan .|= v .!= v
                    i += Chunk.scalarCount
                }
                var l = lo.min(), h = hi.max(), isNaN = any(nan)
                for j in i..<end { l = min(l, s[j]); h = max(h, s[j]); isNaN = isNaN || s[j].isNaN }
                out[c] = (l, h, isNaN)
            }
        }
        return (parts.map(\.lo).min() ?? .infinity, parts.map(\.hi).max() ?? -.infinity, parts.contains { $0.nan })
    }

    @inline(__always)
    private static func scaled(_ v: Float, _ scale: (slope: Double, inter: Double)?) -> Double {
        scale.map { ((Double(v) - $0.inter) / $0.slope).rounded() } ?? Double(v).rounded()
    }

    /// Runs `body(lo, hi)` over `count` items in one chunk per thread (single chunk when small).
    private static func chunked(_ count: Int, _ body: (Int, Int) -> Void) {
        let chunks = count < (1 << 18) ? 1 : Parallel.threads
        Parallel.forEach(chunks) { c in body(count * c / chunks, count * (c + 1) / chunks) }
    }
}
