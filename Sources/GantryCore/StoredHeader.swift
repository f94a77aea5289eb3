/// How a volume was stored on disk (NIfTI header fields that carry geometry and encoding), kept so
/// that reading and writing a file back gives the same header. Produced by the NIfTI reader; the
/// writer uses it verbatim while the volume's affine is unchanged (`affineAtRead == volume.affine`).
public struct StoredHeader: Sendable, Equatable {
    /// NIfTI version (1 or 2).
    public var version: Int = 1
    /// NIfTI datatype code of the stored voxels (e.g. 16 = float32, 4 = int16, 2 = uint8).
    public var datatype: Int32 = 16
    /// Scaling applied on read: value = raw · slope + inter (slope 0 or NaN means none).
    public var sclSlope: Double = 0
    public var sclInter: Double = 0
    /// qform: code and quaternion parameters exactly as stored (b, c, d, offset x, y, z, qfac).
    public var qformCode: Int32 = 0
    public var quaternion: [Double] = [0, 0, 0, 0, 0, 0, 1]
    /// sform: code and the 4×4 matrix as stored (meaningful when `sformCode > 0`).
    public var sformCode: Int32 = 0
    public var sform: Affine = .identity
    /// pixdim[0…7] as stored (pixdim[0] is qfac).
    public var pixdim: [Double] = [1, 1, 1, 1, 1, 1, 1, 1]
    /// NIfTI unit codes (xyzt_units split): 2 = mm, 8 = s.
    public var xyzUnits: Int32 = 2
    public var timeUnits: Int32 = 0
    /// NIfTI intent code as stored (1006 displacement vectors, 1007 vectors, …); read, never carried
    /// over on write (an output states its own intent through the write options).
    public var intentCode: Int32 = 0
    /// Free-text description (≤ 79 characters).
    public var descrip: String = ""
    /// The affine the volume had when read; a different current affine means the grid changed.
    public var affineAtRead: Affine = .identity

    public init() {}
}
