import GantryCore

/// Weight initialisations of PyTorch's `nn.init`, drawn from Gantry's seeded generator (the values
/// differ from PyTorch's, the distributions do not). A conv weight [out, in, k…] counts as an
/// out × (in·k…) matrix, fan-in = in·k…, fan-out = out·k….
public enum Initialiser {
    /// kaiming_normal_(nonlinearity="relu"): N(0, 2/fan_in).
    public static func kaimingNormal(fanIn: Int) -> (inout SeededRandom, Int) -> [Float] {
        normal(std: (2 / Double(max(fanIn, 1))).squareRoot())
    }

    public static func normal(std: Double) -> (inout SeededRandom, Int) -> [Float] {
        { g, n in (0..<n).map { _ in Float(std * g.normal()) } }
    }

    /// xavier_uniform_: U(±gain·sqrt(6/(fan_in + fan_out))).
    public static func xavierUniform(fanIn: Int, fanOut: Int, gain: Double = 1) -> (inout SeededRandom, Int) -> [Float] {
        let b = gain * (6 / Double(max(fanIn + fanOut, 1))).squareRoot()
        return { g, n in (0..<n).map { _ in Float(g.uniform(-b, b)) } }
    }

    /// orthogonal_: a Gaussian rows × cols matrix made orthonormal (rows when rows ≤ cols, else
    /// columns) by modified Gram–Schmidt.
    public static func orthogonal(rows: Int, cols: Int) -> (inout SeededRandom, Int) -> [Float] {
        { g, n in
            precondition(n == rows * cols, "orthogonal: \(n) values for \(rows)×\(cols)")
            let transpose = rows > cols
            let (r, c) = transpose ? (cols, rows) : (rows, cols)
            var m = (0..<(r * c)).map { _ in g.normal() }
            for i in 0..<r {
                for j in 0..<i {
                    var d = 0.0
                    for k in 0..<c { d += m[i * c + k] * m[j * c + k] }
                    for k in 0..<c { m[i * c + k] -= d * m[j * c + k] }
                }
                var norm = 0.0
                for k in 0..<c { norm += m[i * c + k] * m[i * c + k] }
                let s = 1 / max(norm.squareRoot(), 1e-12)
                for k in 0..<c { m[i * c + k] *= s }
            }
            if !transpose { return m.map { Float($0) } }
            var out = [Float](repeating: 0, count: n)
            for i in 0..<r { for k in 0..<c { out[k * r + i] = Float(m[i * c + k]) } }
            return out
        }
    }
}
