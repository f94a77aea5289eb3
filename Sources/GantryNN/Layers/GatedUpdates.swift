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
                let cIn = (gates - 1) * block, z = gru ? src + block : src
                Tensor.gatedRow(gate: (ap + src, up + src), update: (ap + z, up + z), candidate: (ap + src + cIn, up + src + cIn),
                                hidden: hp + dst, into: op + dst, saving: (sp + dst, zp + dst, cp + dst), count: inner)
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
        let (xv, wv, uv, hv, bv) = (data, wih.data, whh.data, h.data, bih?.data)
        let gru = gates == 3
        let out = [Float](unsafeUninitializedCapacity: n * hid * s) { ob, initialised in
            xv.withUnsafeBufferPointer { xb in wv.withUnsafeBufferPointer { wb in uv.withUnsafeBufferPointer { ub in hv.withUnsafeBufferPointer { hb in
                let (xp, wp, up, hp, op) = (xb.baseAddress!, wb.baseAddress!, ub.baseAddress!, hb.baseAddress!, ob.baseAddress!)
                Parallel.forEach(n * blocks) { j in
                    let b = j / blocks, lo = (j % blocks) * block, count = min(block, s - lo)
                    let a = UnsafeMutablePointer<Float>.allocate(capacity: 2 * rows * count), u = a + rows * count
                    defer { a.deallocate() }
                    if let bv { for r in 0..<rows { (a + r * count).initialize(repeating: bv[r], count: count) } }
                    BLAS.sgemm(m: rows, n: count, k: cin, a: wp, b: xp + b * cin * s + lo, beta: bv == nil ? 0 : 1, c: a, lda: cin, ldb: s, ldc: count)
                    // A zero hidden state (a RIM's first step) needs no recurrent GEMM; the scan
                    // stops at the first non-zero value of any other step.
                    let zeroHidden = (0..<hid).allSatisfy { ch in
                        let p = hp + (b * hid + ch) * s + lo
                        return (0..<count).allSatisfy { p[$0] == 0 }
                    }
                    if zeroHidden {
                        u.initialize(repeating: 0, count: rows * count)
                    } else {
                        BLAS.sgemm(m: rows, n: count, k: hid, a: up, b: hp + b * hid * s + lo, c: u, lda: hid, ldb: s, ldc: count)
                    }
                    let cIn = (gates - 1) * hid * count, (pa, pu) = (UnsafePointer(a), UnsafePointer(u))
                    for ch in 0..<hid {
                        let g = ch * count, z = gru ? g + hid * count : g
                        Tensor.gatedRow(gate: (pa + g, pu + g), update: (pa + z, pu + z), candidate: (pa + g + cIn, pu + g + cIn),
                                        hidden: hp + (b * hid + ch) * s + lo, into: op + (b * hid + ch) * s + lo, count: count)
                    }
                }
            } } } }
            initialised = n * hid * s
        }
        return Tensor(shape: h.shape, data: out)
    }

    /// One channel's row of a gated update from its pre-activation parts (W·x + b, U·h):
    /// s = σ(gate), z = σ(update), c = tanh(candidate_W + s·candidate_U), h′ = c + z·(h − c), and
    /// (for backward) s, z and c themselves. MGU passes its one gate as both gate and update. A
    /// plain loop over the row of scalar formulas: the compiler vectorises it (VectorMath).
    @inline(never)
    static func gatedRow(gate: (UnsafePointer<Float>, UnsafePointer<Float>), update: (UnsafePointer<Float>, UnsafePointer<Float>),
                         candidate: (UnsafePointer<Float>, UnsafePointer<Float>), hidden: UnsafePointer<Float>,
                         into out: UnsafeMutablePointer<Float>,
                         saving saved: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)? = nil,
                         count: Int) {
        @inline(__always) func value(_ i: Int) -> (s: Float, z: Float, c: Float, next: Float) {
            let s = VectorMath.sigmoid(gate.0[i] + gate.1[i]), z = VectorMath.sigmoid(update.0[i] + update.1[i])
            let c = VectorMath.tanh(candidate.0[i] + s * candidate.1[i])
            return (s, z, c, c + z * (hidden[i] - c))
        }
        // two loops, not a branch per value, so each vectorises
        if let (sp, zp, cp) = saved {
            for i in 0..<count { let v = value(i); sp[i] = v.s; zp[i] = v.z; cp[i] = v.c; out[i] = v.next }
        } else {
            for i in 0..<count { out[i] = value(i).next }
        }
    }
}
