extension Volume {
    /// Gantry's rule for non-finite voxels (NaN, ±Inf) in images that a computation takes
    /// (registration, segmentation): they are set to 0 and counted, so the caller can warn and record
    /// the count. Converters and scanners write NaN outside the field of view, which is background;
    /// left in, one NaN spreads through every sum it enters (a whole tumour mask turned background).
    /// An image without a single finite voxel carries nothing and is refused, naming `source`.
    public func replacingNonFinite(source: String) throws -> (volume: Volume, replaced: Int) {
        var replaced = 0
        for v in data where !v.isFinite { replaced += 1 }
        if replaced == 0 { return (self, 0) }
        guard replaced < data.count else {
            throw GantryError.invalidFile(path: source, problem: "no finite voxel values (all \(data.count) are NaN or Inf)")
        }
        return (try with(data: data.map { $0.isFinite ? $0 : 0 }), replaced)
    }
}
