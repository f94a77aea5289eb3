import CNIfTI
import GantryCore

/// The geometry fields of a NIfTI header exactly as stored (pixdim incl. qfac, quaternion, srow),
/// whatever the codes say. libnifti decodes and encodes them only when their code is non-zero, so
/// Gantry copies them itself to keep a read-and-written-back header identical.
struct RawGeometry {
    var pixdim: [Double]       // 8
    var quaternion: [Double]   // b, c, d, qoffset x, y, z
    var srow: Affine

    init(_ h: nifti_1_header) {
        var h = h
        pixdim = withUnsafeBytes(of: &h.pixdim) { Array($0.bindMemory(to: Float.self)).map(Double.init) }
        quaternion = [h.quatern_b, h.quatern_c, h.quatern_d, h.qoffset_x, h.qoffset_y, h.qoffset_z].map(Double.init)
        let rows = [h.srow_x, h.srow_y, h.srow_z].map { r -> [Double] in
            var r = r
            return withUnsafeBytes(of: &r) { Array($0.bindMemory(to: Float.self)).map(Double.init) }
        }
        srow = Affine(rows: rows + [[0, 0, 0, 1]])
    }

    init(_ h: nifti_2_header) {
        var h = h
        pixdim = withUnsafeBytes(of: &h.pixdim) { Array($0.bindMemory(to: Double.self)) }
        quaternion = [h.quatern_b, h.quatern_c, h.quatern_d, h.qoffset_x, h.qoffset_y, h.qoffset_z]
        let rows = [h.srow_x, h.srow_y, h.srow_z].map { r -> [Double] in
            var r = r
            return withUnsafeBytes(of: &r) { Array($0.bindMemory(to: Double.self)) }
        }
        srow = Affine(rows: rows + [[0, 0, 0, 1]])
    }

    /// From a stored header (time steps of dims 4… taken from `extraSpacing`, which may have been edited).
    init(_ s: StoredHeader, extraSpacing: [Double]) {
        pixdim = s.pixdim
        for (i, v) in extraSpacing.enumerated() where i + 4 < 8 { pixdim[i + 4] = v }
        quaternion = Array(s.quaternion.prefix(6))
        srow = s.sform
    }

    func store(into h: inout nifti_1_header) {
        withUnsafeMutableBytes(of: &h.pixdim) { b in for i in 0..<8 { b.storeBytes(of: Float(pixdim[i]), toByteOffset: 4 * i, as: Float.self) } }
        (h.quatern_b, h.quatern_c, h.quatern_d) = (Float(quaternion[0]), Float(quaternion[1]), Float(quaternion[2]))
        (h.qoffset_x, h.qoffset_y, h.qoffset_z) = (Float(quaternion[3]), Float(quaternion[4]), Float(quaternion[5]))
        h.srow_x = (Float(srow[0, 0]), Float(srow[0, 1]), Float(srow[0, 2]), Float(srow[0, 3]))
        h.srow_y = (Float(srow[1, 0]), Float(srow[1, 1]), Float(srow[1, 2]), Float(srow[1, 3]))
        h.srow_z = (Float(srow[2, 0]), Float(srow[2, 1]), Float(srow[2, 2]), Float(srow[2, 3]))
    }

    func store(into h: inout nifti_2_header) {
        withUnsafeMutableBytes(of: &h.pixdim) { b in for i in 0..<8 { b.storeBytes(of: pixdim[i], toByteOffset: 8 * i, as: Double.self) } }
        (h.quatern_b, h.quatern_c, h.quatern_d) = (quaternion[0], quaternion[1], quaternion[2])
        (h.qoffset_x, h.qoffset_y, h.qoffset_z) = (quaternion[3], quaternion[4], quaternion[5])
        h.srow_x = (srow[0, 0], srow[0, 1], srow[0, 2], srow[0, 3])
        h.srow_y = (srow[1, 0], srow[1, 1], srow[1, 2], srow[1, 3])
        h.srow_z = (srow[2, 0], srow[2, 1], srow[2, 2], srow[2, 3])
    }
}
