import Foundation
import GantryCore
import GantryLinearAlgebra

/// The GRU and MGU state updates as single ops. Written with tensor primitives a GRU step is a
/// dozen activation-sized passes (two channel splits, three sums, two products, a difference,
/// three nonlinearities), each allocating a tensor the graph keeps; fused, the forward is one pass
/// that keeps only the gates, and the backward one pass that writes the three gradients.
/// `GatedUpdatesTests` checks both against the same formulas composed from primitives.
extension Tensor {
    /// GRU (atommic's ConvGRUCell): with Wx = [a_r, a_z, a_n] and Uh = [u_r, u_z, u_n] on the
    /// channel axis, r = σ(a_r + u_r), z = σ(a_z + u_z), n = tanh(a_n + r⊙u_n), h′ = n + z⊙(h − n).
    /// self = Wx [N, 3H, …], `recurrent` = Uh [N, 3H, …], `hidden` = h [N, H, …].
    public func gruUpdate(recurrent uh: Tensor, hidden h: Tensor) throws -> Tensor {
        try Tensor.gatedUpdate(wx: self, uh: uh, h: h, gates: 3)
    }

    /// MGU: with Wx = [a_f, a_c], Uh = [u_f, u_c]: f = σ(a_f + u_f), c = tanh(a_c + f⊙u_c),
    /// h′ = c + f⊙(h − c).
    public func mguUpdate(recurrent uh: Tensor, hidden h: Tensor) throws -> Tensor {
        try Tensor.gatedUpdate(wx: self, uh: uh, h: h, gates: 2)
    }

    /// Both cells share one shape: a forget/update gate (GRU's z, MGU's f), a candidate whose
    /// recurrent term is scaled by a gate (GRU's r, MGU's f) and h′ = c + gate⊙(h − c).
    static func gatedUpdate(wx: Tensor, uh: Tensor, h: Tensor, gates: Int) throws -> Tensor {
        let hs = h.shape
        guard hs.count >= 3, wx.shape == uh.shape, wx.shape[0] == hs[0], wx.shape[1] == gates * hs[1],
              Array(wx.shape.dropFirst(2)) == Array(hs.dropFirst(2)) else {
            throw GantryError.invalidArgument("gated update: Wx \(wx.shape), Uh \(uh.shape), h \(h.shape) do not fit \(gates) gates")
        }
        let (n, hid) = (hs[0], hs[1]), inner = hs.dropFirst(2).reduce(1, *), block = hid * inner
        let gru = gates == 3
        // Saved per sample: reset-like gate s (GRU r, MGU f), update gate z (GRU z, MGU f) and candidate c.
        var sGate = [Float](repeating: 0, count: n * block), zGate = sGate, cand = sGate, out = sGate
        let (a, u, hv) = (wx.data, uh.data, h.data)
        a.withUnsafeBufferPointer { ab in u.withUnsafeBufferPointer { ub in hv.withUnsafeBufferPointer { hb in
        sGate.withUnsafeMutableBufferPointer { sb in zGate.withUnsafeMutableBufferPointer { zb in
        cand.withUnsafeMutableBufferPointer { cb in out.withUnsafeMutableBufferPointer { ob in
            let (ap, up, hp, sp, zp, cp, op) = (ab.baseAddress!, ub.baseAddress!, hb.baseAddress!, sb.baseAddress!, zb.baseAddress!, cb.baseAddress!, ob.baseAddress!)
            Parallel.forEach(n * hid, work: n * block * (gates + 1)) { j in
                let b = j / hid, o = (j % hid) * inner, src = b * gates * block + o, dst = b * block + o
                // sixteen values at a time (VectorMath: glibc's expf/tanhf per value were a third
                // of a GRU machine's inference)
                typealias M = VectorMath
                let cIn = (gates - 1) * block
                for i in stride(from: 0, to: inner, by: M.V.scalarCount) {
                    let k = min(M.V.scalarCount, inner - i)
                    func at(_ p: UnsafePointer<Float>, _ offset: Int) -> M.V { M.load(p + offset + i, count: k) }
                    let s = M.sigmoid(at(ap, src) + at(up, src))
                    let z = gru ? M.sigmoid(at(ap, src + block) + at(up, src + block)) : s
                    let c = M.tanh(at(ap, src + cIn) + s * at(up, src + cIn))
                    M.store(s, to: sp + dst + i, count: k); M.store(z, to: zp + dst + i, count: k); M.store(c, to: cp + dst + i, count: k)
                    M.store(c + z * (at(hp, dst) - c), to: op + dst + i, count: k)
                }
            }
        } } } } } } }
        return Tensor.result(shape: hs, data: out, parents: [wx, uh, h]) { g in
            var da = [Float](repeating: 0, count: a.count), du = da, dh = [Float](repeating: 0, count: hv.count)
            g.withUnsafeBufferPointer { gb in u.withUnsafeBufferPointer { ub in hv.withUnsafeBufferPointer { hb in
            sGate.withUnsafeBufferPointer { sb in zGate.withUnsafeBufferPointer { zb in cand.withUnsafeBufferPointer { cb in
            da.withUnsafeMutableBufferPointer { dab in du.withUnsafeMutableBufferPointer { dub in dh.withUnsafeMutableBufferPointer { dhb in
                let (gp, up, hp, sp, zp, cp) = (gb.baseAddress!, ub.baseAddress!, hb.baseAddress!, sb.baseAddress!, zb.baseAddress!, cb.baseAddress!)
                let (dap, dup, dhp) = (dab.baseAddress!, dub.baseAddress!, dhb.baseAddress!)
                Parallel.forEach(n * hid, work: n * block * (gates + 1)) { j in
                    let b = j / hid, o = (j % hid) * inner, src = b * gates * block + o, dst = b * block + o
                    let cIn = (gates - 1) * block
                    for i in 0..<inner {
                        let (gi, s, z, c, hh) = (gp[dst + i], sp[dst + i], zp[dst + i], cp[dst + i], hp[dst + i])
                        dhp[dst + i] = gi * z
                        let dcPre = gi * (1 - z) * (1 - c * c)           // through c = tanh(a_c + s·u_c)
                        dap[src + cIn + i] = dcPre
                        dup[src + cIn + i] = dcPre * s
                        let dsFromC = dcPre * up[src + cIn + i]           // ∂/∂s of the candidate
                        let dzOut = gi * (hh - c)                         // ∂/∂z of h′
                        if gru {
                            let dsPre = dsFromC * s * (1 - s), dzPre = dzOut * z * (1 - z)
                            dap[src + i] = dsPre; dup[src + i] = dsPre
                            dap[src + block + i] = dzPre; dup[src + block + i] = dzPre
                        } else {
                            let dfPre = (dsFromC + dzOut) * s * (1 - s)  // MGU: one gate plays both parts
                            dap[src + i] = dfPre; dup[src + i] = dfPre
                        }
                    }
                }
            } } } } } } } } }
            wx.accumulate(da); uh.accumulate(du); h.accumulate(dh)
        }
    }
}

extension Tensor {
    /// A whole GRU (`gates` 3) or MGU (2) step with 1×1 convolutions, when no graph is recorded
    /// (nil otherwise, or when the shapes do not fit): per block of pixels the two GEMMs write
    /// Wx + b and Uh, and the gates and the new state are computed while both are in cache.
    /// Unfused, Wx and Uh (3H channels each) and the three saved gates cross memory — for a
    /// 64-channel GRU at 320², 160 MB a step — and the update reads them back.
    func pointwiseGatedCell(_ input: (weight: Tensor, bias: Tensor?), recurrent whh: Tensor, hidden h: Tensor, gates: Int) throws -> Tensor? {
        let (wih, bih) = input
        guard !Tensor.records([self, wih, whh, h] + (bih.map { [$0] } ?? [])), shape.count == 4, h.shape.count == 4 else { return nil }
        let (n, cin, hid, s) = (shape[0], shape[1], h.shape[1], shape[2] * shape[3]), rows = gates * hid
        guard h.shape == [n, hid, shape[2], shape[3]], wih.shape == [rows, cin, 1, 1], whh.shape == [rows, hid, 1, 1],
              bih.map({ $0.count == rows }) ?? true, s > 0 else { return nil }
        BLAS.useSingleThreadInsideParallelJobs()
        // Both GEMM outputs of a block (2 × 3H × pixels) about 2 MB: for a 64-channel GRU at 320²,
        // 0.5, 1 and 4 MB blocks took 1.06, 1.06 and 1.05× the time (AMD EPYC).
        let block = min(s, max(256, 262_144 / rows)), blocks = (s + block - 1) / block
        let (xv, hv, bv) = (data, h.data, bih?.data)
        let gru = gates == 3, gated = (gates - 1) * hid, depth = cin + hid
        // The gate rows read W·x + U·h as one product, [W_g U_g]·[x; h]: one GEMM of depth
        // cin + hid instead of two of depth cin and hid writing two outputs. The candidate's rows
        // stay apart (its recurrent term is scaled by a gate).
        var joined = [Float]()
        joined.reserveCapacity(gated * depth)
        for r in 0..<gated {
            joined += wih.data[(r * cin)..<((r + 1) * cin)]
            joined += whh.data[(r * hid)..<((r + 1) * hid)]
        }
        let (wn, un) = (Array(wih.data[(gated * cin)...]), Array(whh.data[(gated * hid)...]))
        let merged = ProcessInfo.processInfo.environment["GANTRY_GRU_SPLIT"] == nil
        let out = [Float](unsafeUninitializedCapacity: n * hid * s) { ob, initialised in
            xv.withUnsafeBufferPointer { xb in hv.withUnsafeBufferPointer { hb in joined.withUnsafeBufferPointer { jb in
            wn.withUnsafeBufferPointer { wnb in un.withUnsafeBufferPointer { unb in wih.data.withUnsafeBufferPointer { wb in whh.data.withUnsafeBufferPointer { ub in
                let (xp, hp, op, jp, wnp, unp) = (xb.baseAddress!, hb.baseAddress!, ob.baseAddress!, jb.baseAddress!, wnb.baseAddress!, unb.baseAddress!)
                let (wp, up) = (wb.baseAddress!, ub.baseAddress!)
                Parallel.forEach(n * blocks) { j in
                    let b = j / blocks, lo = (j % blocks) * block, count = min(block, s - lo)
                    // a: the pre-activations, gate rows then candidate rows; u: U_c·h; xh: [x; h]
                    let a = UnsafeMutablePointer<Float>.allocate(capacity: (rows + hid + depth) * count), u = a + rows * count, xh = u + hid * count
                    defer { a.deallocate() }
                    if let bv { for r in 0..<rows { (a + r * count).initialize(repeating: bv[r], count: count) } }
                    let beta: Float = bv == nil ? 0 : 1
                    let (x0, h0) = (xp + b * cin * s + lo, hp + b * hid * s + lo)
                    // A zero hidden state (a RIM's first step) needs no recurrent product; the scan
                    // stops at the first non-zero value of any other step.
                    let zeroHidden = (0..<hid).allSatisfy { ch in (0..<count).allSatisfy { h0[ch * s + $0] == 0 } }
                    if zeroHidden {
                        BLAS.sgemm(m: rows, n: count, k: cin, a: wp, b: x0, beta: beta, c: a, lda: cin, ldb: s, ldc: count)
                        u.initialize(repeating: 0, count: hid * count)
                    } else if merged {
                        for r in 0..<cin { (xh + r * count).update(from: x0 + r * s, count: count) }
                        for r in 0..<hid { (xh + (cin + r) * count).update(from: h0 + r * s, count: count) }
                        BLAS.sgemm(m: gated, n: count, k: depth, a: jp, b: xh, beta: beta, c: a, lda: depth, ldb: count, ldc: count)
                        BLAS.sgemm(m: hid, n: count, k: cin, a: wnp, b: x0, beta: beta, c: a + gated * count, lda: cin, ldb: s, ldc: count)
                        BLAS.sgemm(m: hid, n: count, k: hid, a: unp, b: h0, c: u, lda: hid, ldb: s, ldc: count)
                    } else {
                        BLAS.sgemm(m: rows, n: count, k: cin, a: wp, b: x0, beta: beta, c: a, lda: cin, ldb: s, ldc: count)
                        BLAS.sgemm(m: gated, n: count, k: hid, a: up, b: h0, beta: 1, c: a, lda: hid, ldb: s, ldc: count)
                        BLAS.sgemm(m: hid, n: count, k: hid, a: up + gated * hid, b: h0, c: u, lda: hid, ldb: s, ldc: count)
                    }
                    typealias M = VectorMath
                    let cIn = gated * count
                    for ch in 0..<hid {
                        let g = ch * count, hs = h0 + ch * s, dst = op + (b * hid + ch) * s + lo
                        for i in stride(from: 0, to: count, by: M.V.scalarCount) {
                            let k = min(M.V.scalarCount, count - i)
                            func at(_ p: UnsafePointer<Float>, _ offset: Int) -> M.V { M.load(p + offset + i, count: k) }
                            let sg = M.sigmoid(at(a, g))
                            let z = gru ? M.sigmoid(at(a, g + hid * count)) : sg
                            let c = M.tanh(at(a, g + cIn) + sg * at(u, g))
                            M.store(c + z * (at(hs, 0) - c), to: dst + i, count: k)
                        }
                    }
                }
            } } } } } } }
            initialised = n * hid * s
        }
        return Tensor(shape: h.shape, data: out)
    }
}
