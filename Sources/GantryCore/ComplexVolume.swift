/// A complex image on a regular grid (e.g. a coil image or k-space stored as NIfTI complex64):
/// interleaved (re, im) `Float` pairs, layout-compatible with `fftwf_complex`, x fastest.
public struct ComplexVolume: Sendable {
    public var shape: [Int]
    public var affine: Affine
    /// 2 · (number of voxels) floats: re0, im0, re1, im1, …
    public var data: [Float]
    public var extraSpacing: [Double]
    public var header: StoredHeader?

    public init(shape: [Int], affine: Affine = .identity, data: [Float], extraSpacing: [Double] = [], header: StoredHeader? = nil) throws {
        let n = try Volume.count(of: shape)
        guard (1...7).contains(shape.count), 2 * n == data.count else {
            throw GantryError.invalidArgument("complex volume shape \(shape) needs \(2 * n) floats, got \(data.count)")
        }
        self.shape = shape; self.affine = affine; self.data = data; self.extraSpacing = extraSpacing; self.header = header
    }

    /// Number of complex voxels.
    public var count: Int { data.count / 2 }

    /// Magnitude image on the same grid.
    public var magnitude: Volume {
        var m = [Float](repeating: 0, count: count)
        for i in 0..<count { m[i] = (data[2 * i] * data[2 * i] + data[2 * i + 1] * data[2 * i + 1]).squareRoot() }
        return Volume(unchecked: shape, affine: affine, data: m, extraSpacing: extraSpacing, header: header)
    }
}
