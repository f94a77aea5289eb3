import GantryCore
import GantryLinearAlgebra

extension Tensor {
    /// Stride-1 2D convolution with few outputs per tap (a RIM's last layer, 3×3 to 2 channels):
    /// one GEMM per band of output rows, W′ [(Cout, tap), Cin] · X [Cin, band's input rows], gives
    /// every tap's product plane on the unpadded input, and each output row is its bias plus the
    /// taps' rows, shifted. The direct kernels would run 2 channels in 8-wide vectors and
    /// per-tap GEMMs would have M = Cout; here M = Cout·taps and K = Cin, a shape GEMM runs near
    /// peak, and the shift-adds touch Cout·taps planes that stay in cache.
    ///
    /// Padding is applied to the product planes rather than the input (the products are a
    /// per-pixel linear map, so they commute with it), so replicated edges need no padded copy of
    /// the input either. With `relu` outputs are max(0, ·).
    static func convolveTapPlanes(_ x: UnsafePointer<Float>, n: Int, cin: Int, weight: UnsafePointer<Float>, cout: Int,
                                  geometry geo: PaddedGeometry, bias: UnsafePointer<Float>? = nil, edges: PaddingEdges = .zeros, relu: Bool = false) -> [Float] {
        BLAS.useSingleThreadInsideParallelJobs()
        let replicate = edges == .replicate
        let (d, h, w, oh, ow) = (geo.d, geo.h, geo.w, geo.oh, geo.ow)
        let (kh, kw, taps) = (geo.kh, geo.kw, geo.kh * geo.kw), rowsM = cout * taps
        let (dy, dx, top, left) = (geo.dilation[1], geo.dilation[2], geo.padding[1], geo.padding[2])
        let halo = dy * (kh - 1)
        // About 6,000 input pixels per band: the product planes (Cout·taps × pixels) stay in L2
        // and the halo rows computed twice stay a few per cent.
        let bandRows = max(1, min(oh, 6144 / max(w, 1) - halo)), bands = (oh + bandRows - 1) / bandRows
        var wt = [Float](repeating: 0, count: rowsM * cin)
        for co in 0..<cout { for ci in 0..<cin { for t in 0..<taps { wt[(co * taps + t) * cin + ci] = weight[(co * cin + ci) * taps + t] } } }
        let outCount = n * cout * d * oh * ow
        func clampRow(_ y: Int) -> Int { min(max(y, 0), h - 1) }
        return [Float](unsafeUninitializedCapacity: outCount) { ob, initialised in
            let op = ob.baseAddress!
            wt.withUnsafeBufferPointer { wb in
                let wp = wb.baseAddress!
                Parallel.forEach(n * d * bands) { j in
                    let band = j % bands, z = (j / bands) % d, b = j / (bands * d)
                    let oy0 = band * bandRows, oy1 = min(oh, oy0 + bandRows)
                    // The band's input rows (clamped into the image: rows outside are zeros or
                    // copies; with zeros a band may lie wholly in the padding).
                    let lo = clampRow(oy0 - top), hi = clampRow(oy1 - 1 - top + halo) + 1
                    let inside = replicate || (oy1 - 1 - top + halo >= 0 && oy0 - top < h)
                    let pixels = inside ? (hi - lo) * w : 0
                    let products = UnsafeMutablePointer<Float>.allocate(capacity: max(1, rowsM * pixels))
                    defer { products.deallocate() }
                    if pixels > 0 {
                        BLAS.sgemm(m: rowsM, n: pixels, k: cin, a: wp, b: x + (b * cin * d + z) * h * w + lo * w, c: products,
                                   lda: cin, ldb: d * h * w, ldc: pixels)
                    }
                    for co in 0..<cout {
                        let b0 = bias?[co] ?? 0
                        for oy in oy0..<oy1 {
                            let dst = op + (((b * cout + co) * d + z) * oh + oy) * ow
                            dst.initialize(repeating: b0, count: ow)
                            for ky in 0..<kh {
                                var iy = oy - top + ky * dy
                                if replicate { iy = clampRow(iy) } else if iy < 0 || iy >= h { continue }
                                guard pixels > 0 else { continue }
                                for kx in 0..<kw {
                                    let shift = kx * dx - left, row = products + (co * taps + ky * kw + kx) * pixels + (iy - lo) * w
                                    // Output columns ox read input column ox + shift: inside for first..<last.
                                    let first = min(ow, max(0, -shift)), last = max(first, min(ow, w - shift))
                                    if replicate {
                                        let (edge0, edge1) = (row[0], row[w - 1])
                                        for ox in 0..<first { dst[ox] += edge0 }
                                        for ox in last..<ow { dst[ox] += edge1 }
                                    }
                                    let src = row + shift
                                    for ox in first..<last { dst[ox] += src[ox] }
                                }
                            }
                            if relu { for ox in 0..<ow { dst[ox] = max(0, dst[ox]) } }
                        }
                    }
                }
            }
            initialised = outCount
        }
    }
}
