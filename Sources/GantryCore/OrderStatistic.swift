extension Array where Element == Float {
    /// The k-th smallest value (0-based), the value `sorted()[k]` gives, found by selection (Hoare's
    /// partitioning, median-of-three pivots: expected linear time) instead of sorting a whole
    /// image for one percentile.
    public func orderStatistic(_ k: Int) -> Float {
        precondition(indices.contains(k), "order statistic \(k) of \(count) values")
        var a = self
        return a.withUnsafeMutableBufferPointer { p in
            var lo = 0, hi = p.count - 1
            while lo < hi {
                let mid = lo + (hi - lo) / 2
                if p[mid] < p[lo] { p.swapAt(mid, lo) }
                if p[hi] < p[lo] { p.swapAt(hi, lo) }
                if p[hi] < p[mid] { p.swapAt(hi, mid) }
                let pivot = p[mid]
                var i = lo, j = hi
                while i <= j {
                    while p[i] < pivot { i += 1 }
                    while pivot < p[j] { j -= 1 }
                    if i <= j { p.swapAt(i, j); i += 1; j -= 1 }
                }
                // [lo, j] ≤ pivot ≤ [i, hi]; values strictly between j and i equal the pivot
                if k <= j { hi = j } else if k >= i { lo = i } else { return p[k] }
            }
            return p[k]
        }
    }
}
