import Foundation

/// A scalar image on a regular grid: shape (x fastest, as NIfTI), a voxel→RAS+ affine in mm and
/// `Float` voxels. 3D volumes have `shape.count == 3`; 4D (e.g. time or contrasts) `4`; up to 7 dims
/// are carried (NIfTI allows 7), geometry applies to the first three.
///
/// `header` remembers how the volume was stored (qform/sform with codes, pixdim, datatype,
/// scaling), so a volume read and written back keeps the same header geometry. Operations that
/// change the grid (reorient, crop, resample) produce a new affine; the writer then derives a
/// consistent qform and sform from it, keeping the original codes.
public struct Volume: Sendable {
    /// Grid size per dimension, x fastest in memory.
    public var shape: [Int]
    /// Voxel (i, j, k) → world (x, y, z) in mm, RAS+.
    public var affine: Affine
    /// Voxel values, `shape.reduce(1, *)` of them, x fastest.
    public var data: [Float]
    /// Step along dimensions 4…7 (e.g. repetition time in seconds); spatial steps come from the affine.
    public var extraSpacing: [Double]
    /// How the volume was stored, when it came from a file.
    public var header: StoredHeader?

    public init(shape: [Int], affine: Affine = .identity, data: [Float], extraSpacing: [Double] = [], header: StoredHeader? = nil) throws {
        guard (1...7).contains(shape.count), shape.allSatisfy({ $0 > 0 }) else {
            throw GantryError.invalidArgument("volume shape \(shape) must have 1 to 7 positive dimensions")
        }
        let n = try Volume.count(of: shape)
        guard n == data.count else {
            throw GantryError.invalidArgument("volume shape \(shape) needs \(n) voxels, got \(data.count)")
        }
        self.shape = shape
        self.affine = affine
        self.data = data
        self.extraSpacing = extraSpacing
        self.header = header
    }

    /// For callers that built `data` from a shape already validated (no checks).
    init(unchecked shape: [Int], affine: Affine, data: [Float], extraSpacing: [Double], header: StoredHeader?) {
        self.shape = shape; self.affine = affine; self.data = data; self.extraSpacing = extraSpacing; self.header = header
    }

    /// A volume filled with `value`.
    public init(shape: [Int], affine: Affine = .identity, filledWith value: Float = 0) throws {
        let n = try Volume.count(of: shape)
        try self.init(shape: shape, affine: affine, data: [Float](repeating: value, count: n))
    }

    /// Number of voxels of `shape`, with an error on overflow.
    public static func count(of shape: [Int]) throws -> Int {
        var n = 1
        for d in shape {
            guard d > 0 else { throw GantryError.invalidArgument("shape \(shape) has a non-positive dimension") }
            let (p, o) = n.multipliedReportingOverflow(by: d)
            guard !o else { throw GantryError.invalidArgument("shape \(shape) overflows") }
            n = p
        }
        return n
    }

    /// Number of voxels.
    public var count: Int { data.count }
    /// Size of the three spatial axes (1 where the volume has fewer dims).
    public var spatialShape: [Int] { (0..<3).map { $0 < shape.count ? shape[$0] : 1 } }
    /// Voxels per spatial volume (nx·ny·nz).
    public var spatialCount: Int { spatialShape.reduce(1, *) }
    /// Number of 3D frames (product of dims 4…7).
    public var frames: Int { count / max(spatialCount, 1) }
    /// Voxel size in mm along each spatial voxel axis (column norms of the affine).
    public var spacing: [Double] { affine.columnNorms }
    /// Orientation code such as "RAS" or "LPS" (direction in which each voxel axis increases).
    public var orientation: String { Orientation.axisCodes(of: affine).joined() }

    /// Linear index of voxel (i, j, k) in frame `t`.
    @inline(__always)
    public func index(_ i: Int, _ j: Int, _ k: Int, frame t: Int = 0) -> Int {
        let s = spatialShape
        return i + s[0] * (j + s[1] * (k + s[2] * t))
    }

    public subscript(i: Int, j: Int, k: Int) -> Float {
        get { data[index(i, j, k)] }
        set { data[index(i, j, k)] = newValue }
    }

    /// Minimum, maximum and mean over all voxels (NaNs ignored).
    public var statistics: (min: Float, max: Float, mean: Double) {
        var lo = Float.infinity, hi = -Float.infinity, sum = 0.0, n = 0
        for v in data where !v.isNaN {
            lo = Swift.min(lo, v); hi = Swift.max(hi, v); sum += Double(v); n += 1
        }
        return n == 0 ? (.nan, .nan, .nan) : (lo, hi, sum / Double(n))
    }

    /// The same grid with other voxel values (geometry and header kept).
    public func with(data newData: [Float]) throws -> Volume {
        try Volume(shape: shape, affine: affine, data: newData, extraSpacing: extraSpacing, header: header)
    }
}
