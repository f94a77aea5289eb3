/// Deterministic 1-D k-means (Lloyd's algorithm) on intensities, initialised at evenly spaced
/// quantiles so the same data always give the same classes. Used for tissue classification
/// (phantom anatomy from a T1 template, the `segment.tissue-kmeans` stage).
public enum KMeans {
    /// Class centres in increasing order.
    public static func centres(_ values: [Float], classes k: Int, iterations: Int = 50) throws -> [Double] {
        guard k >= 1, values.count >= k else { throw GantryError.invalidArgument("too few values (\(values.count)) for \(k) classes") }
        let sorted = values.sorted()
        var centres = (0..<k).map { Double(sorted[(sorted.count - 1) * (2 * $0 + 1) / (2 * k)]) }
        for _ in 0..<iterations {
            var sums = [Double](repeating: 0, count: k), counts = [Int](repeating: 0, count: k)
            for v in values {
                let c = nearest(Double(v), centres)
                sums[c] += Double(v); counts[c] += 1
            }
            let next = (0..<k).map { counts[$0] > 0 ? sums[$0] / Double(counts[$0]) : centres[$0] }
            if next == centres { break }
            centres = next
        }
        return centres.sorted()
    }

    /// Class 1…k per voxel where `mask` holds (0 elsewhere), numbered by increasing centre.
    public static func classify(_ values: [Float], where mask: [Bool], classes k: Int) throws -> [UInt8] {
        let c = try centres(zip(values, mask).filter { $0.1 }.map { $0.0 }, classes: k)
        return zip(values, mask).map { $0.1 ? UInt8(nearest(Double($0.0), c) + 1) : 0 }
    }

    /// Index of the centre nearest to `v`.
    @inline(__always)
    public static func nearest(_ v: Double, _ c: [Double]) -> Int {
        var best = 0
        for i in 1..<c.count where abs(v - c[i]) < abs(v - c[best]) { best = i }
        return best
    }
}
