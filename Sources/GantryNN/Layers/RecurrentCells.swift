import GantryCore
import GantryLinearAlgebra

/// The recurrent units of a RIM, in order of cost: GRU (three gates), MGU (two), IndRNN (one
/// convolution and a per-channel recurrent weight — Karkalousos et al.'s fastest).
public enum RecurrentCellKind: String, CaseIterable, Sendable, Codable {
    case gru = "GRU"
    case mgu = "MGU"
    case indRNN = "IndRNN"

    /// Case-insensitive, as atommic's `recurrent_layer`.
    public init?(name: String) {
        guard let k = Self.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else { return nil }
        self = k
    }
}

/// A 2D convolutional recurrent cell (x [N, in, H, W], h [N, hidden, H, W] → new h), parameters under
/// atommic's state-dict names below `prefix` (`ih.weight`, `ih.bias`, `hh.weight` or `hh`).
public struct ConvRecurrentCell {
    public let kind: RecurrentCellKind
    public let prefix: String
    public let inChannels: Int, hidden: Int, kernel: Int, dilation: Int, bias: Bool

    public init(kind: RecurrentCellKind, prefix: String, inChannels: Int, hidden: Int, kernel: Int, dilation: Int, bias: Bool) {
        self.kind = kind; self.prefix = prefix; self.inChannels = inChannels; self.hidden = hidden
        self.kernel = kernel; self.dilation = dilation; self.bias = bias
    }

    var gates: Int { [RecurrentCellKind.gru: 3, .mgu: 2, .indRNN: 1][kind] ?? 1 }
    var conv: ConvParameters { .uniform(padding: dilation * (kernel - 1) / 2, dilation: dilation, dims: 2) }

    func inputToHidden(_ x: Tensor, _ p: ParameterStore) throws -> Tensor {
        let (w, b) = inputWeights(p)
        return try x.conv(w, bias: b, conv)
    }

    func inputWeights(_ p: ParameterStore) -> (weight: Tensor, bias: Tensor?) {
        let rows = gates * hidden, fanIn = inChannels * kernel * kernel
        let init_: (inout SeededRandom, Int) -> [Float]
        switch kind {
        case .gru: init_ = Initialiser.orthogonal(rows: rows, cols: fanIn)
        case .mgu: init_ = Initialiser.xavierUniform(fanIn: fanIn, fanOut: rows * kernel * kernel, gain: 2.0.squareRoot())
        case .indRNN: init_ = Initialiser.normal(std: 1 / Double(hidden * (1 + kernel * kernel)))
        }
        let w = p.parameter("\(prefix).ih.weight", shape: [rows, inChannels, kernel, kernel], initialise: init_)
        let b = bias ? p.parameter("\(prefix).ih.bias", shape: [rows], fanIn: 1, constant: 0) : nil
        return (w, b)
    }

    func hiddenToHidden(_ h: Tensor, _ p: ParameterStore) throws -> Tensor {
        try h.conv(recurrentWeight(p), bias: nil, conv)
    }

    /// GRU's and MGU's hidden-to-hidden weight U.
    func recurrentWeight(_ p: ParameterStore) -> Tensor {
        let rows = gates * hidden, fanIn = hidden * kernel * kernel
        let init_ = kind == .gru ? Initialiser.orthogonal(rows: rows, cols: fanIn)
            : Initialiser.xavierUniform(fanIn: fanIn, fanOut: rows * kernel * kernel)
        return p.parameter("\(prefix).hh.weight", shape: [rows, hidden, kernel, kernel], initialise: init_)
    }

    /// One step. GRU: r = σ(Wx_r + Uh_r), z = σ(Wx_z + Uh_z), n = tanh(Wx_n + r⊙Uh_n), h' = n + z⊙(h − n).
    /// MGU: f = σ(Wx_f + Uh_f), c = tanh(Wx_c + f⊙Uh_c), h' = c + f⊙(h − c).
    /// IndRNN: h' = ReLU(Wx + u⊙h) with a per-channel u.
    public func callAsFunction(_ x: Tensor, _ h: Tensor, _ p: ParameterStore) throws -> Tensor {
        if kernel == 1 {
            let fused = kind == .indRNN ? try x.pointwiseIndRNN(inputWeights(p), hidden: h, weight: indRNNWeight(p))
                : try x.pointwiseGatedCell(inputWeights(p), recurrent: recurrentWeight(p), hidden: h, gates: gates)
            if let fused { return fused }
        }
        let ih = try inputToHidden(x, p)
        switch kind {
        case .gru: return try ih.gruUpdate(recurrent: hiddenToHidden(h, p), hidden: h)
        case .mgu: return try ih.mguUpdate(recurrent: hiddenToHidden(h, p), hidden: h)
        case .indRNN: return try ih.indRNNUpdate(hidden: h, weight: indRNNWeight(p))
        }
    }

    /// IndRNN's per-channel recurrent weight u.
    func indRNNWeight(_ p: ParameterStore) -> Tensor {
        p.parameter("\(prefix).hh", shape: [1, hidden, 1, 1], initialise: Initialiser.normal(std: 1 / Double(hidden * (1 + kernel * kernel))))
    }
}

/// Replication padding, convolution, optional ReLU (atommic's `ConvNonlinear`; weights
/// `prefix.conv_layer.weight`/`.bias`, kaiming-normal initialisation, zero bias).
public struct ConvNonlinear {
    public let prefix: String
    public let inChannels: Int, outChannels: Int, kernel: Int, dilation: Int, bias: Bool, relu: Bool

    public init(prefix: String, inChannels: Int, outChannels: Int, kernel: Int, dilation: Int, bias: Bool, relu: Bool) {
        self.prefix = prefix; self.inChannels = inChannels; self.outChannels = outChannels
        self.kernel = kernel; self.dilation = dilation; self.bias = bias; self.relu = relu
    }

    public func callAsFunction(_ x: Tensor, _ p: ParameterStore) throws -> Tensor {
        let w = p.parameter("\(prefix).conv_layer.weight", shape: [outChannels, inChannels, kernel, kernel],
                            initialise: Initialiser.kaimingNormal(fanIn: inChannels * kernel * kernel))
        let b = bias ? p.parameter("\(prefix).conv_layer.bias", shape: [outChannels], fanIn: 1, constant: 0) : nil
        return try x.replicationPaddedConv(w, bias: b, padding: dilation * (kernel - 1) / 2, dilation: dilation, relu: relu)
    }
}

extension Tensor {
    /// A whole IndRNN step with a 1×1 input convolution, ReLU(W·x + b + u⊙h), when no graph is
    /// recorded (nil otherwise, or when the shapes do not fit): per block of pixels, the GEMM
    /// writes W·x + b and the update runs on it while it is still in cache, instead of a pass
    /// over the whole activation after the convolution. The same values as `conv` then
    /// `indRNNUpdate`.
    func pointwiseIndRNN(_ input: (weight: Tensor, bias: Tensor?), hidden h: Tensor, weight u: Tensor) throws -> Tensor? {
        let (w, b) = input
        guard !Tensor.records([self, w, h, u] + (b.map { [$0] } ?? [])), shape.count == 4, w.shape.count == 4, w.shape[1] == shape[1],
              w.shape[2] == 1, w.shape[3] == 1 else { return nil }
        let (n, cin, cout, s) = (shape[0], shape[1], w.shape[0], shape[2] * shape[3])
        guard h.shape == [n, cout, shape[2], shape[3]], u.shape == [1, cout, 1, 1], b.map({ $0.count == cout }) ?? true, s > 0 else { return nil }
        BLAS.useSingleThreadInsideParallelJobs()
        // The GEMM's output block (Cout × pixels) about 512 KB, inside L2 when the update reads it:
        // 128 KB and 2 MB blocks took 1.03 and 1.08× the time, one block 1.1× (64 channels, 320²).
        let block = min(s, max(256, 131_072 / max(cout, 1))), blocks = (s + block - 1) / block
        let (xv, wv, hv, uv, bv) = (data, w.data, h.data, u.data, b?.data)
        let out = [Float](unsafeUninitializedCapacity: n * cout * s) { ob, initialised in
            xv.withUnsafeBufferPointer { xb in wv.withUnsafeBufferPointer { wb in hv.withUnsafeBufferPointer { hb in
                let (xp, wp, hp, op) = (xb.baseAddress!, wb.baseAddress!, hb.baseAddress!, ob.baseAddress!)
                Parallel.forEach(n * blocks) { j in
                    let bi = j / blocks, lo = (j % blocks) * block, count = min(block, s - lo)
                    let c = op + bi * cout * s + lo
                    if let bv { for co in 0..<cout { (c + co * s).initialize(repeating: bv[co], count: count) } }
                    BLAS.sgemm(m: cout, n: count, k: cin, a: wp, b: xp + bi * cin * s + lo, beta: bv == nil ? 0 : 1, c: c, lda: cin, ldb: s, ldc: s)
                    for co in 0..<cout {
                        let row = c + co * s, hr = hp + (bi * cout + co) * s + lo, uc = uv[co]
                        for i in 0..<count { let v = row[i] + uc * hr[i]; row[i] = v > 0 ? v : 0 }
                    }
                }
            } } }
            initialised = n * cout * s
        }
        return Tensor(shape: h.shape, data: out)
    }

    /// IndRNN's update ReLU(Wx + u⊙h) as one pass (self = Wx [N, C, H, W], u [1, C, 1, 1]): the
    /// per-channel product, the sum and the ReLU would otherwise each write an activation-sized
    /// tensor. Backward with m = g·[h′ > 0]: dWx = m, dh = u·m, du = Σ m·h.
    public func indRNNUpdate(hidden h: Tensor, weight u: Tensor) throws -> Tensor {
        guard shape.count == 4, h.shape == shape, u.shape == [1, shape[1], 1, 1] else {
            throw GantryError.invalidArgument("IndRNN update: input \(shape), hidden \(h.shape), weight \(u.shape) do not fit")
        }
        let (n, c) = (shape[0], shape[1]), inner = shape[2] * shape[3]
        let (wx, hv, uv) = (data, h.data, u.data)
        let y = [Float](unsafeUninitializedCapacity: count) { yb, initialised in
            wx.withUnsafeBufferPointer { ab in hv.withUnsafeBufferPointer { hb in
                guard let ap = ab.baseAddress, let hp = hb.baseAddress, let yp = yb.baseAddress else { return }
                Parallel.forEach(n * c, work: count) { j in
                    let w = uv[j % c], o = j * inner
                    for i in o..<(o + inner) { let v = ap[i] + w * hp[i]; yp[i] = v > 0 ? v : 0 }
                }
            } }
            initialised = count
        }
        return Tensor.result(shape: shape, data: y, parents: [self, h, u]) { g in
            var masked = [Float](repeating: 0, count: g.count), dh = [Float](repeating: 0, count: g.count)
            var du = [Float](repeating: 0, count: n * c)
            g.withUnsafeBufferPointer { gb in y.withUnsafeBufferPointer { yb in hv.withUnsafeBufferPointer { hb in
                masked.withUnsafeMutableBufferPointer { mb in dh.withUnsafeMutableBufferPointer { db in du.withUnsafeMutableBufferPointer { ub in
                    let (gp, yp, hp, mp, dp, up) = (gb.baseAddress!, yb.baseAddress!, hb.baseAddress!, mb.baseAddress!, db.baseAddress!, ub.baseAddress!)
                    Parallel.forEach(n * c, work: g.count) { j in
                        let w = uv[j % c], o = j * inner
                        for i in o..<(o + inner) {
                            let m = yp[i] > 0 ? gp[i] : 0
                            mp[i] = m; dp[i] = w * m
                        }
                        up[j] = BLAS.dot(inner, mp + o, hp + o)
                    }
                } } }
            } } }
            var gu = [Float](repeating: 0, count: c)
            for j in 0..<(n * c) { gu[j % c] += du[j] }
            self.accumulate(masked); h.accumulate(dh); u.accumulate(gu)
        }
    }
}
