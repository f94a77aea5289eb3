import Foundation
import GantryCore
@testable import GantryIO
import XCTest

/// Write → read round trips: data and header geometry bit-exact.
final class NIfTIWriteTests: XCTestCase {
    /// Decompressed bytes of a NIfTI file.
    func rawBytes(_ path: String) throws -> [UInt8] {
        let b = try FileIO.readAll(path)
        return try b.withUnsafeBytes { Gzip.isGzip($0) ? try Gzip.decompress($0, path: path) : b }
    }

    func testFixturesRoundTripWithIdenticalGeometry() throws {
        let dir = try TempDir()
        let expected = try Fixtures.expected("nifti")
        for name in expected.keys.sorted() {
            let src = Fixtures.nifti(name)
            let out = dir.file("rt_" + name)
            let h = try NIfTI.readHeader(src)
            if h.type == .complex64 {
                let v = try NIfTI.readComplex(src)
                try NIfTI.write(v, to: out)
                let back = try NIfTI.readComplex(out)
                XCTAssertEqual(back.data, v.data, name)
                XCTAssertEqual(back.affine, v.affine, name)
            } else {
                let v = try NIfTI.read(src)
                try NIfTI.write(v, to: out)
                let back = try NIfTI.read(out)
                XCTAssertEqual(back.shape, v.shape, name)
                XCTAssertEqual(back.data, v.data, "\(name): data not bit-exact")
                XCTAssertEqual(back.affine, v.affine, "\(name): affine not bit-exact")
                XCTAssertEqual(back.header?.datatype, v.header?.datatype, "\(name): datatype changed")
                XCTAssertEqual(back.extraSpacing, v.extraSpacing, name)
            }
            let a = try NIfTI.readHeader(out).header, b = h.header
            XCTAssertEqual(a.qformCode, b.qformCode, name)
            XCTAssertEqual(a.sformCode, b.sformCode, name)
            XCTAssertEqual(a.quaternion, b.quaternion, name)
            XCTAssertEqual(a.pixdim, b.pixdim, name)
            XCTAssertEqual(a.sform, b.sform, name)
            XCTAssertEqual(a.sclSlope == 0 ? 1 : a.sclSlope, b.sclSlope == 0 ? 1 : b.sclSlope, name)
            // Header bytes that carry geometry are identical (same byte order only).
            if h.header.version == 1 && !name.contains("bigendian") {
                let x = try rawBytes(src), y = try rawBytes(out)
                XCTAssertEqual(Array(x[76..<108]), Array(y[76..<108]), "\(name): pixdim bytes")
                XCTAssertEqual(Array(x[252..<328]), Array(y[252..<328]), "\(name): qform/sform bytes")
                XCTAssertEqual(Array(x[344..<348]), Array(y[344..<348]), "\(name): magic")
            }
        }
    }

    func testNewVolumeGetsConsistentQformAndSform() throws {
        let dir = try TempDir()
        var a = Affine.identity
        // rotation about z by 30° with 1.5 mm voxels and an offset
        let c = cos(Double.pi / 6), s = sin(Double.pi / 6)
        a = Affine(rows: [[1.5 * c, -1.5 * s, 0, 10], [1.5 * s, 1.5 * c, 0, -20], [0, 0, 2, 5], [0, 0, 0, 1]])
        let v = try Volume(shape: [3, 4, 5], affine: a, data: (0..<60).map(Float.init))
        try NIfTI.write(v, to: dir.file("new.nii.gz"))
        let h = try NIfTI.readHeader(dir.file("new.nii.gz")).header
        XCTAssertEqual(h.sformCode, 2)
        XCTAssertEqual(h.qformCode, 2)
        XCTAssertLessThan(h.sform.maxDifference(a), 1e-6)
        XCTAssertEqual(h.pixdim[1], 1.5, accuracy: 1e-6)
        XCTAssertEqual(h.pixdim[3], 2, accuracy: 1e-6)
        // qform decodes to the same matrix
        let back = try NIfTI.read(dir.file("new.nii.gz"))
        XCTAssertLessThan(back.affine.maxDifference(a), 1e-6)
    }

    func testLabelMapsAsUInt8AndInt16() throws {
        let dir = try TempDir()
        let labels: [Float] = (0..<24).map { Float($0 % 4) }
        let v = try Volume(shape: [2, 3, 4], affine: .scaling([1, 1, 1]), data: labels)
        for t in [NIfTIDataType.uint8, .int16] {
            let p = dir.file("labels_\(t.name).nii.gz")
            try NIfTI.write(v, to: p, options: .init(datatype: t))
            let (_, type, h) = try NIfTI.readHeader(p)
            XCTAssertEqual(type, t)
            XCTAssertEqual(h.sclSlope, 1)
            XCTAssertEqual(h.sclInter, 0)
            XCTAssertEqual(try NIfTI.read(p).data, labels)
        }
        // a value that does not fit fails and leaves nothing
        let bad = try v.with(data: labels.map { $0 * 100 })
        XCTAssertThrowsError(try NIfTI.write(bad, to: dir.file("bad.nii"), options: .init(datatype: .uint8)))
        XCTAssertFalse(dir.contents.contains { $0.hasPrefix("bad") || $0.hasPrefix(".bad") })
    }

    /// Integer encoding rounds half away from zero (nibabel/numpy would round half to even; NIfTI
    /// leaves it open; Gantry keeps C's `lround`): the vector path (16 values at a time) and the
    /// scalar tail against `Double.rounded()`, on halves, their neighbours, extremes and random
    /// values; NaN and out-of-range values are refused (the vectorised range pass).
    func testIntegerEncodingRoundsHalfAwayFromZero() throws {
        var values: [Float] = []
        for k in -40...40 {
            let x = Float(k) / 2
            values += [x, x.nextDown, x.nextUp, -x]
        }
        values += [0.49999997, -0.49999997, 0.5, -0.5, 32766.5, -32767.5, 32767, -32768, 255.49998, 0, -0.0]
        var state: UInt64 = 5
        for _ in 0..<300 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            values.append((Float(state >> 40) / Float(1 << 24) - 0.5) * 200)
        }
        values.append(1.5)  // not a multiple of 16 values: the last ones go through the scalar tail
        for type in [NIfTIDataType.int16, .int8, .uint8, .uint16, .int32] {
            let fits = values.filter { let r = Double($0).rounded(); return type.range.contains(r) }
            let bytes = try VoxelCodec.encode(fits, type: type, scale: nil, path: "test")
            let decoded = [Float](unsafeUninitializedCapacity: fits.count) { buf, n in
                bytes.withUnsafeBytes { VoxelCodec.decode($0.baseAddress!, count: fits.count, type: type, swap: false, scale: nil, into: buf.baseAddress!) }
                n = fits.count
            }
            let expected = fits.map { Float(Double($0).rounded()) }
            XCTAssertEqual(decoded, expected, "\(type.name)")
            XCTAssertGreaterThan(fits.count, 100, "\(type.name)")
        }
        for bad: Float in [.nan, 32767.5, -32768.6] {
            let v = [Float](repeating: 3, count: 40) + [bad] + [Float](repeating: 3, count: 300_000)
            XCTAssertThrowsError(try VoxelCodec.encode(v, type: .int16, scale: nil, path: "test"), "\(bad)")
        }
    }

    func testNIfTI2AndLargeGzipRoundTrip() throws {
        let dir = try TempDir()
        // Several gzip members (more than Gzip.memberSize of data) exercise the parallel path.
        let n = 130 * 120 * 100
        var data = [Float](repeating: 0, count: n)
        var x: UInt32 = 12345
        for i in 0..<n { x = x &* 1664525 &+ 1013904223; data[i] = Float(x >> 8) / 65536 }
        let v = try Volume(shape: [130, 120, 100], affine: .scaling([0.7, 0.7, 1.2], origin: [-40, -40, -60]), data: data)
        try NIfTI.write(v, to: dir.file("big.nii.gz"), options: .init(version: 2))
        let back = try NIfTI.read(dir.file("big.nii.gz"))
        XCTAssertEqual(back.header?.version, 2)
        XCTAssertEqual(back.data, data)
        XCTAssertEqual(back.affine, v.affine)
    }

    func testGzipStreamIsStandard() throws {
        // Our multi-member stream must decode with the serial (single-stream, zlib-compatible) path too.
        let bytes = (0..<(Gzip.memberSize * 2 + 1000)).map { UInt8(truncatingIfNeeded: $0 &* 31 ^ ($0 >> 7)) }
        let gz = try bytes.withUnsafeBytes { try Gzip.compress($0, level: 1) }
        let serial = try gz.withUnsafeBytes { try Gzip.decompressSerialForTesting($0) }
        XCTAssertEqual(serial, bytes)
        let parallel = try gz.withUnsafeBytes { try Gzip.decompress($0, path: "mem") }
        XCTAssertEqual(parallel, bytes)
    }
}
