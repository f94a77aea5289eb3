/// Memory-order conversions between NIfTI order (first index fastest, Fortran-like) and
/// HDF5/NumPy C order (last index fastest).
public enum ArrayLayout {
    /// The same N-D array with its axes reversed: element (i0, …, iN-1) of `shape` in first-fastest order
    /// becomes element (iN-1, …, i0) of `shape.reversed()`; equivalently, converts between
    /// first-fastest and last-fastest order for the same index tuple. `elementSize` floats move together
    /// (2 for interleaved complex).
    public static func reversingAxes(_ data: [Float], shape: [Int], elementSize: Int = 1) -> [Float] {
        let n = shape.reduce(1, *)
        precondition(data.count == n * elementSize, "reversingAxes: data size does not match shape")
        if shape.filter({ $0 > 1 }).count <= 1 { return data }
        var out = [Float](repeating: 0, count: data.count)
        let d = shape.count
        // strides of the source (first index fastest) and destination (last index fastest)
        var srcStride = [Int](repeating: 1, count: d), dstStride = [Int](repeating: 1, count: d)
        for a in 1..<d { srcStride[a] = srcStride[a - 1] * shape[a - 1] }
        for a in stride(from: d - 2, through: 0, by: -1) { dstStride[a] = dstStride[a + 1] * shape[a + 1] }
        data.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                var idx = [Int](repeating: 0, count: d)
                var dst = 0
                for src in 0..<n {
                    for e in 0..<elementSize { o[dst * elementSize + e] = s[src * elementSize + e] }
                    // advance the first-fastest index tuple
                    var a = 0
                    while a < d {
                        idx[a] += 1
                        dst += dstStride[a]
                        if idx[a] < shape[a] { break }
                        dst -= dstStride[a] * shape[a]
                        idx[a] = 0
                        a += 1
                    }
                }
            }
        }
        return out
    }
}
