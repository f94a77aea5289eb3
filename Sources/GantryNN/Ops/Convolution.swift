import Foundation
import GantryCore
import GantryLinearAlgebra

/// Convolution geometry for 2D (`N C H W`, kernel `[Cout, Cin/groups, kH, kW]`) and 3D
/// (`N C D H W`, kernel `[Cout, Cin/groups, kD, kH, kW]`) — PyTorch's conv2d/conv3d: cross-correlation,
/// zero padding, stride, dilation, groups (groups = Cin: depthwise).
public struct ConvParameters: Sendable, Equatable {
    public var stride: [Int]
    public var padding: [Int]
    public var dilation: [Int]
    public var groups: Int

    public init(stride: [Int] = [1, 1, 1], padding: [Int] = [0, 0, 0], dilation: [Int] = [1, 1, 1], groups: Int = 1) {
        self.stride = stride; self.padding = padding; self.dilation = dilation; self.groups = groups
    }

    /// Same value on every spatial axis.
    public static func uniform(stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1, dims: Int = 3) -> ConvParameters {
        ConvParameters(stride: Array(repeating: stride, count: dims), padding: Array(repeating: padding, count: dims),
                       dilation: Array(repeating: dilation, count: dims), groups: groups)
    }
}

/// A convolution's operands in 3D — the engine works in 3D: a 2D input is D = 1 with a 1-deep
/// kernel, and 2-element stride/padding/dilation get the identity depth entry (1, 0, 1).
struct LiftedConv {
    let is2D: Bool
    let input: [Int], weight: [Int], stride: [Int], padding: [Int], dilation: [Int]

    init(_ op: String, input x: [Int], weight w: [Int], _ p: ConvParameters) throws {
        guard x.count == 4 || x.count == 5, w.count == x.count else {
            throw GantryError.invalidArgument("\(op): input \(x) and weight \(w) must both be 4-D or 5-D")
        }
        is2D = x.count == 4
        input = is2D ? [x[0], x[1], 1, x[2], x[3]] : x
        weight = is2D ? [w[0], w[1], 1, w[2], w[3]] : w
        stride = Self.depth(p.stride, 1)
        padding = Self.depth(p.padding, 0)
        dilation = Self.depth(p.dilation, 1)
    }

    /// Per-axis values with a depth entry `fill` prepended when given for two axes only.
    static func depth(_ values: [Int], _ fill: Int) -> [Int] { values.count == 3 ? values : [fill] + values }
}

extension Tensor {
    /// PyTorch conv2d / conv3d (by the input's rank). Stride 1: per-tap GEMMs on the zero-padded
    /// input (`convolveShifted`, no patch copies); strided: im2col + OpenBLAS GEMM per tile of an
    /// output depth plane. Depthwise and 1×1(×1) convolutions have their own direct paths.
    public func conv(_ weight: Tensor, bias: Tensor? = nil, _ p: ConvParameters = ConvParameters()) throws -> Tensor {
        let lifted = try LiftedConv("conv", input: shape, weight: weight.shape, p)
        let (is2D, x5, w5, sp, pd, dl) = (lifted.is2D, lifted.input, lifted.weight, lifted.stride, lifted.padding, lifted.dilation)
        let (n, cin, d, h, w) = (x5[0], x5[1], x5[2], x5[3], x5[4])
        let (cout, cg, kd, kh, kw) = (w5[0], w5[1], w5[2], w5[3], w5[4])
        let g = p.groups
        guard g >= 1, cin % g == 0, cout % g == 0, cg == cin / g else {
            throw GantryError.invalidArgument("conv: \(cin) input channels, weight \(weight.shape), groups \(g) do not fit")
        }
        let od = (d + 2 * pd[0] - dl[0] * (kd - 1) - 1) / sp[0] + 1
        let oh = (h + 2 * pd[1] - dl[1] * (kh - 1) - 1) / sp[1] + 1
        let ow = (w + 2 * pd[2] - dl[2] * (kw - 1) - 1) / sp[2] + 1
        guard n > 0, od > 0, oh > 0, ow > 0 else { throw GantryError.invalidArgument("conv: output would be empty for input \(shape)") }
        let coutG = cout / g, K = cg * kd * kh * kw, plane = oh * ow
        if ConvolutionBackend.takesDepthwise(channels: cin, cout: cout, groups: g, stride: sp) {
            let geo = PaddedGeometry(d: d, h: h, w: w, kd: kd, kh: kh, kw: kw, padding: pd, dilation: dl)
            return depthwise(weight, bias: bias, n: n, channels: cin, geometry: geo, outShape: is2D ? [n, cout, oh, ow] : [n, cout, od, oh, ow])
        }
        if ConvolutionBackend.takesPointwise(kernel: [kd, kh, kw], stride: sp, padding: pd) {
            return try pointwise(weight, bias: bias, n: n, cin: cin, cout: cout, groups: g, spatial: d * h * w, outShape: is2D ? [n, cout, h, w] : [n, cout, d, h, w])
        }
        let geo = Im2Col(c: cg, d: d, h: h, w: w, kd: kd, kh: kh, kw: kw, od: od, oh: oh, ow: ow, stride: sp, padding: pd, dilation: dl)
        let xData = data, wData = weight.data
        let tileRows = max(1, min(oh, 8192 / max(ow, 1)))
        let tiles = (oh + tileRows - 1) / tileRows, units = od * tiles
        let biasData = bias?.data ?? []
        let out = xData.withUnsafeBufferPointer { xb in wData.withUnsafeBufferPointer { wb in biasData.withUnsafeBufferPointer { bb in
            Tensor.convolve(xb.baseAddress!, n: n, cin: cin, weight: wb.baseAddress!, cout: cout, groups: g, geometry: geo, bias: bias == nil ? nil : bb.baseAddress)
        } } }
        let outShape = is2D ? [n, cout, oh, ow] : [n, cout, od, oh, ow]
        return Tensor.result(shape: outShape, data: out, bias: bias, biasApplied: true, parents: [self, weight]) { gy in
            // Stride 1 (padding ≤ the kernel's reach): dW by per-tap GEMMs on the padded input, dX as
            // the forward convolution of dY with the flipped kernel (no overlapping scatter).
            let flipPad = (0..<3).map { dl[$0] * ([kd, kh, kw][$0] - 1) - pd[$0] }
            if sp == [1, 1, 1], flipPad.allSatisfy({ $0 >= 0 }) {
                let padded = PaddedGeometry(d: d, h: h, w: w, kd: kd, kh: kh, kw: kw, padding: pd, dilation: dl)
                let gw = xData.withUnsafeBufferPointer { xb in gy.withUnsafeBufferPointer { gb in
                    ConvolutionBackend.takesWinogradWeightGradient(cin: cin, cout: cout, groups: g, geometry: padded)
                        ? Tensor.weightGradientWinograd(xb.baseAddress!, gb.baseAddress!, n: n, cin: cin, cout: cout, geometry: padded)
                        : Tensor.weightGradientShifted(xb.baseAddress!, gb.baseAddress!, n: n, cin: cin, cout: cout, groups: g, geometry: padded)
                } }
                // dX = conv(dY, flipped kernel with in/out swapped), stride 1, padding dil·(k−1) − p.
                var wf = [Float](repeating: 0, count: weight.count)
                for gi in 0..<g { for co in 0..<coutG { for ci in 0..<cg { for a in 0..<kd { for bb in 0..<kh { for cc in 0..<kw {
                    let src = ((((gi * coutG + co) * cg + ci) * kd + a) * kh + bb) * kw + cc
                    let dst = ((((gi * cg + ci) * coutG + co) * kd + (kd - 1 - a)) * kh + (kh - 1 - bb)) * kw + (kw - 1 - cc)
                    wf[dst] = wData[src]
                } } } } } }
                let back = Im2Col(c: coutG, d: od, h: oh, w: ow, kd: kd, kh: kh, kw: kw, od: d, oh: h, ow: w, stride: [1, 1, 1], padding: flipPad, dilation: dl)
                let gx = gy.withUnsafeBufferPointer { gb in wf.withUnsafeBufferPointer { wb in
                    Tensor.convolve(gb.baseAddress!, n: n, cin: cout, weight: wb.baseAddress!, cout: cin, groups: g, geometry: back)
                } }
                self.accumulate(gx)
                weight.accumulate(gw)
                return
            }
            // Strided (or over-padded): jobs over (batch, group, chunk of output planes), each with its
            // own dW and dX slice (col2im of neighbouring planes overlaps in depth); both are summed in
            // job order afterwards, so results do not depend on thread timing.
            var gx = [Float](repeating: 0, count: self.count)
            var gw = [Float](repeating: 0, count: weight.count)
            let lock = NSLock()
            let chunks = max(1, min(units, Parallel.threads))
            let slice = cg * d * h * w
            var perJobGW = [[Float]](repeating: [], count: n * g * chunks)
            var perJobGX = [[Float]](repeating: [], count: n * g * chunks)
            Parallel.forEach(n * g * chunks) { job in
                let ch = job % chunks, gi = (job / chunks) % g, b = job / (chunks * g)
                var localGW = [Float](repeating: 0, count: coutG * K)
                var gxLocal = [Float](repeating: 0, count: slice)
                var cols = [Float](repeating: 0, count: K * tileRows * ow)
                var dcols = [Float](repeating: 0, count: K * tileRows * ow)
                for u in (units * ch / chunks)..<(units * (ch + 1) / chunks) {
                    let z = u / tiles, y0 = (u % tiles) * tileRows, y1 = min(oh, y0 + tileRows), m = (y1 - y0) * ow
                    xData.withUnsafeBufferPointer { xb in geo.gather(xb.baseAddress! + (b * cin + gi * cg) * d * h * w, z: z, rows: y0..<y1, into: &cols) }
                    // dY rows are read in place from the gradient (row stride = one channel's volume).
                    let dyOffset = ((b * cout + gi * coutG) * od + z) * plane + y0 * ow, ldy = od * plane
                    gy.withUnsafeBufferPointer { db in cols.withUnsafeBufferPointer { cb in localGW.withUnsafeMutableBufferPointer { gb in
                        // dW += dY · colsᵀ
                        BLAS.sgemm(transB: true, m: coutG, n: K, k: m, a: db.baseAddress! + dyOffset, b: cb.baseAddress!, beta: 1, c: gb.baseAddress!, lda: ldy, ldb: m)
                    } } }
                    wData.withUnsafeBufferPointer { wb in gy.withUnsafeBufferPointer { db in dcols.withUnsafeMutableBufferPointer { dc in
                        // dcols = Wᵀ · dY
                        BLAS.sgemm(transA: true, m: K, n: m, k: coutG, a: wb.baseAddress! + gi * coutG * K, b: db.baseAddress! + dyOffset, c: dc.baseAddress!, ldb: ldy)
                    } } }
                    geo.scatterAdd(dcols, z: z, rows: y0..<y1, into: &gxLocal)
                }
                lock.lock()
                perJobGW[job] = localGW
                perJobGX[job] = gxLocal
                lock.unlock()
            }
            for job in 0..<(n * g * chunks) {
                let gi = (job / chunks) % g, b = job / (chunks * g)
                for i in 0..<perJobGW[job].count { gw[gi * coutG * K + i] += perJobGW[job][i] }
                let base = (b * cin + gi * cg) * d * h * w
                perJobGX[job].withUnsafeBufferPointer { src in gx.withUnsafeMutableBufferPointer { dst in
                    for i in 0..<slice { dst[base + i] += src[i] }
                } }
            }
            self.accumulate(gx)
            weight.accumulate(gw)
        }
    }
}

extension Tensor {
    /// A 1×1(×1) stride-1 convolution is a matrix product per sample and group, W [Cout, Cin] ·
    /// X [Cin, voxels]: no patch gathering. Jobs split the voxels; weight gradients are summed over
    /// jobs in job order (deterministic).
    func pointwise(_ weight: Tensor, bias: Tensor?, n: Int, cin: Int, cout: Int, groups g: Int, spatial s: Int, outShape: [Int]) throws -> Tensor {
        BLAS.useSingleThreadInsideParallelJobs()
        let cg = cin / g, coutG = cout / g
        let chunks = max(1, min(Parallel.threads, s / 1024))
        func span(_ j: Int) -> Range<Int> { (s * j / chunks)..<(s * (j + 1) / chunks) }
        let x = data, w = weight.data
        let biasData = bias?.data
        // The spans partition the voxels, so every output is written: no zero fill. A bias is
        // written first and the product added to it (β = 1).
        let out = [Float](unsafeUninitializedCapacity: n * cout * s) { ob, initialised in
            x.withUnsafeBufferPointer { xb in w.withUnsafeBufferPointer { wb in
                let (xp, wp, op) = (xb.baseAddress!, wb.baseAddress!, ob.baseAddress!)
                Parallel.forEach(n * g * chunks) { job in
                    let j = job % chunks, gi = (job / chunks) % g, b = job / (chunks * g), r = span(j)
                    guard !r.isEmpty else { return }
                    let c = op + (b * cout + gi * coutG) * s + r.lowerBound
                    if let biasData { for co in 0..<coutG { (c + co * s).initialize(repeating: biasData[gi * coutG + co], count: r.count) } }
                    BLAS.sgemm(m: coutG, n: r.count, k: cg, a: wp + gi * coutG * cg, b: xp + (b * cin + gi * cg) * s + r.lowerBound,
                               beta: biasData == nil ? 0 : 1, c: c, lda: cg, ldb: s, ldc: s)
                }
            } }
            initialised = n * cout * s
        }
        return Tensor.result(shape: outShape, data: out, bias: bias, biasApplied: true, parents: [self, weight]) { gy in
            var gx = [Float](repeating: 0, count: n * cin * s)
            var partial = [[Float]](repeating: [], count: n * g * chunks)
            let lock = NSLock()
            gy.withUnsafeBufferPointer { gb in x.withUnsafeBufferPointer { xb in w.withUnsafeBufferPointer { wb in gx.withUnsafeMutableBufferPointer { gxb in
                let (gp, xp, wp, gxp) = (gb.baseAddress!, xb.baseAddress!, wb.baseAddress!, gxb.baseAddress!)
                Parallel.forEach(n * g * chunks) { job in
                    let j = job % chunks, gi = (job / chunks) % g, b = job / (chunks * g), r = span(j)
                    var gw = [Float](repeating: 0, count: coutG * cg)
                    if !r.isEmpty {
                        let dy = gp + (b * cout + gi * coutG) * s + r.lowerBound, xs = xp + (b * cin + gi * cg) * s + r.lowerBound
                        gw.withUnsafeMutableBufferPointer { gwb in
                            // dW = dY · Xᵀ over this span of voxels
                            BLAS.sgemm(transB: true, m: coutG, n: cg, k: r.count, a: dy, b: xs, c: gwb.baseAddress!, lda: s, ldb: s, ldc: cg)
                        }
                        // dX = Wᵀ · dY
                        BLAS.sgemm(transA: true, m: cg, n: r.count, k: coutG, a: wp + gi * coutG * cg, b: dy,
                                   c: gxp + (b * cin + gi * cg) * s + r.lowerBound, lda: cg, ldb: s, ldc: s)
                    }
                    lock.lock(); partial[job] = gw; lock.unlock()
                }
            } } } }
            var gw = [Float](repeating: 0, count: weight.count)
            for job in 0..<(n * g * chunks) {
                let gi = (job / chunks) % g
                for i in 0..<partial[job].count { gw[gi * coutG * cg + i] += partial[job][i] }
            }
            self.accumulate(gx)
            weight.accumulate(gw)
        }
    }

    /// The forward convolution on raw buffers (also used for input gradients of stride-1 convs), by
    /// the kernel `ConvolutionBackend.forward` picks. The im2col path is here: work units are
    /// (output plane, tile of ~8k output voxels), each gathering its patches and running one GEMM
    /// writing straight into the output.
    static func convolve(_ x: UnsafePointer<Float>, n: Int, cin: Int, weight: UnsafePointer<Float>, cout: Int, groups g: Int, geometry geo: Im2Col,
                         bias: UnsafePointer<Float>? = nil) -> [Float] {
        let backend = ConvolutionBackend.forward(cin: cin, cout: cout, groups: g, geometry: geo)
        switch backend {
        case .winograd: return convolveWinograd(x, n: n, cin: cin, weight: weight, cout: cout, geometry: geo.padded, bias: bias)
        case .sliding, .channelVectors, .directRows:
            return convolveDirect(x, n: n, cin: cin, weight: weight, cout: cout, geometry: geo, bias: bias, backend: backend)
        case .shiftedGEMM: return convolveShifted(x, n: n, cin: cin, weight: weight, cout: cout, groups: g, geometry: geo.padded, bias: bias)
        case .tapPlanes: return convolveTapPlanes(x, n: n, cin: cin, weight: weight, cout: cout, geometry: geo.padded, bias: bias)
        case .im2colGEMM: break
        }
        BLAS.useSingleThreadInsideParallelJobs()
        let (d, h, w, od, oh, ow) = (geo.d, geo.h, geo.w, geo.od, geo.oh, geo.ow)
        let cg = cin / g, coutG = cout / g, K = cg * geo.kd * geo.kh * geo.kw, plane = oh * ow
        let tileRows = max(1, min(oh, 8192 / max(ow, 1)))
        let tiles = (oh + tileRows - 1) / tileRows, units = od * tiles
        var out = [Float](repeating: 0, count: n * cout * od * plane)
        out.withUnsafeMutableBufferPointer { ob in
            let op = ob.baseAddress!
            Parallel.forEach(n * g * units) { job in
                let u = job % units, gi = (job / units) % g, b = job / (units * g)
                let z = u / tiles, y0 = (u % tiles) * tileRows, y1 = min(oh, y0 + tileRows), m = (y1 - y0) * ow
                var cols = [Float](repeating: 0, count: K * m)
                geo.gather(x + (b * cin + gi * cg) * d * h * w, z: z, rows: y0..<y1, into: &cols)
                let tile = op + ((b * cout + gi * coutG) * od + z) * plane + y0 * ow
                cols.withUnsafeBufferPointer { cb in
                    BLAS.sgemm(m: coutG, n: m, k: K, a: weight + gi * coutG * K, b: cb.baseAddress!, c: tile, ldc: od * plane)
                }
                if let bias { for co in 0..<coutG { let v = bias[gi * coutG + co], p = tile + co * od * plane; for i in 0..<m { p[i] += v } } }
            }
        }
        return out
    }
}

/// Gathers input patches for one output depth plane (and scatters their gradients back).
struct Im2Col {
    let c: Int, d: Int, h: Int, w: Int
    let kd: Int, kh: Int, kw: Int
    let od: Int, oh: Int, ow: Int
    let stride: [Int], padding: [Int], dilation: [Int]

    /// Output columns xx whose input column xx·s − p + cc·dil lies inside [0, w).
    @inline(__always)
    func validColumns(_ cc: Int) -> (Int, Int) {
        let off = cc * dilation[2] - padding[2], s = stride[2]
        // xx·s + off ≥ 0  ⇔ xx ≥ ceil(−off / s);  xx·s + off < w ⇔ xx < ceil((w − off) / s)
        let lo = off >= 0 ? 0 : (-off + s - 1) / s
        let hi = w - off <= 0 ? 0 : min(ow, (w - off + s - 1) / s)
        return (min(lo, ow), max(min(hi, ow), 0))
    }

    /// cols[(ci, a, bb, cc), (y, x)] = input[ci, z·s − p + a·dil, …] (0 outside), for output rows `rows`.
    func gather(_ x: UnsafePointer<Float>, z: Int, rows: Range<Int>? = nil, into cols: inout [Float]) {
        let rows = rows ?? 0..<oh
        let plane = rows.count * ow
        cols.withUnsafeMutableBufferPointer { cb in
            let cp = cb.baseAddress!
            var row = 0
            for ci in 0..<c { for a in 0..<kd { for bb in 0..<kh { for cc in 0..<kw {
                let iz = z * stride[0] - padding[0] + a * dilation[0]
                let dst = cp + row * plane
                row += 1
                guard iz >= 0, iz < d else { for i in 0..<plane { dst[i] = 0 }; continue }
                let src = x + (ci * d + iz) * h * w
                for y in rows {
                    let iy = y * stride[1] - padding[1] + bb * dilation[1]
                    let drow = dst + (y - rows.lowerBound) * ow
                    guard iy >= 0, iy < h else { for i in 0..<ow { drow[i] = 0 }; continue }
                    let srow = src + iy * w
                    // Valid output columns form one range: copy it without per-element bounds tests.
                    let (lo, hi) = validColumns(cc)
                    for xx in 0..<lo { drow[xx] = 0 }
                    for xx in hi..<ow { drow[xx] = 0 }
                    if lo < hi {
                        let first = lo * stride[2] - padding[2] + cc * dilation[2]
                        if stride[2] == 1 {
                            (drow + lo).update(from: srow + first, count: hi - lo)
                        } else {
                            for xx in lo..<hi { drow[xx] = srow[first + (xx - lo) * stride[2]] }
                        }
                    }
                }
            } } } }
        }
    }

    /// The adjoint of `gather`: input gradient += patches.
    func scatterAdd(_ cols: [Float], z: Int, rows: Range<Int>? = nil, into gx: inout [Float]) {
        gx.withUnsafeMutableBufferPointer { gb in scatterAdd(cols, z: z, rows: rows, into: gb.baseAddress!) }
    }

    /// `scatterAdd` into a raw buffer of c·d·h·w values (callers keep concurrent writers apart).
    func scatterAdd(_ cols: [Float], z: Int, rows: Range<Int>? = nil, into gp: UnsafeMutablePointer<Float>) {
        let rows = rows ?? 0..<oh
        let plane = rows.count * ow
        cols.withUnsafeBufferPointer { cb in
            let cp = cb.baseAddress!
            var row = 0
            for ci in 0..<c { for a in 0..<kd { for bb in 0..<kh { for cc in 0..<kw {
                let iz = z * stride[0] - padding[0] + a * dilation[0]
                let src = cp + row * plane
                row += 1
                guard iz >= 0, iz < d else { continue }
                let dst = gp + (ci * d + iz) * h * w
                for y in rows {
                    let iy = y * stride[1] - padding[1] + bb * dilation[1]
                    guard iy >= 0, iy < h else { continue }
                    let srow = src + (y - rows.lowerBound) * ow
                    let (lo, hi) = validColumns(cc)
                    if lo < hi {
                        let first = lo * stride[2] - padding[2] + cc * dilation[2]
                        let drow = dst + iy * w + first
                        if stride[2] == 1 {
                            for xx in lo..<hi { drow[xx - lo] += srow[xx] }
                        } else {
                            for xx in lo..<hi { drow[(xx - lo) * stride[2]] += srow[xx] }
                        }
                    }
                }
            } } } }
        }
    }
}
