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
