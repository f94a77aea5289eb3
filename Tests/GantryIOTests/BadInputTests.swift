import Foundation
import GantryCore
@testable import GantryIO
import XCTest

/// Every kind of damaged input gives one readable error naming the file, and leaves no output behind.
final class BadInputTests: XCTestCase {
    var dir: TempDir!

    override func setUpWithError() throws { dir = try TempDir() }

    /// A valid uncompressed NIfTI-1 file's bytes to damage.
    func validBytes() throws -> [UInt8] {
        try FileIO.readAll(Fixtures.nifti("dtype_float32.nii"))
    }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let p = dir.file(name)
        try FileIO.writeAtomically(p, bytes: bytes)
        return p
    }

    /// Converting `input` fails with a message containing `phrase` and the input path, writes nothing.
    func assertFails(_ input: String, _ phrase: String, infoFails: Bool = true, file: StaticString = #filePath, line: UInt = #line) {
        let before = dir.contents
        let out = dir.file("out.nii.gz")
        XCTAssertThrowsError(try VolumeFile.convert(input, to: out), file: file, line: line) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains(phrase), "'\(message)' lacks '\(phrase)'", file: file, line: line)
            XCTAssertTrue(message.contains(input), "'\(message)' does not name the file", file: file, line: line)
            XCTAssertFalse(message.contains("\n"), "error must be one line", file: file, line: line)
        }
        XCTAssertEqual(dir.contents, before, "a failed conversion left files behind", file: file, line: line)
        if infoFails { XCTAssertThrowsError(try Inspect.describe(input), file: file, line: line) }
    }

    func setInt16(_ b: inout [UInt8], _ at: Int, _ v: Int16) {
        withUnsafeBytes(of: v.littleEndian) { for i in 0..<2 { b[at + i] = $0[i] } }
    }

    func setFloat(_ b: inout [UInt8], _ at: Int, _ v: Float) {
        withUnsafeBytes(of: v.bitPattern.littleEndian) { for i in 0..<4 { b[at + i] = $0[i] } }
    }

    func testTruncatedHeader() throws {
        assertFails(try write(Array(try validBytes().prefix(200)), "short.nii"), "truncated")
    }

    func testTruncatedData() throws {
        let b = try validBytes()
        assertFails(try write(Array(b.prefix(b.count - 10)), "cut.nii"), "truncated")
    }

    func testEmptyFile() throws {
        assertFails(try write([], "empty.nii"), "truncated")
    }

    func testWrongMagic() throws {
        var b = try validBytes()
        b[344] = UInt8(ascii: "x")
        assertFails(try write(b, "magic.nii"), "magic")
    }

    func testNotNIfTIAtAll() throws {
        assertFails(try write(Array("hello, this is not an image at all".utf8) + [UInt8](repeating: 7, count: 400), "text.nii"), "not a NIfTI file")
    }

    func testVoxOffsetPastTheEnd() throws {
        var b = try validBytes()
        setFloat(&b, 108, 1_000_000)
        assertFails(try write(b, "offset.nii"), "vox_offset")
    }

    func testNonPositiveDimension() throws {
        var b = try validBytes()
        setInt16(&b, 42, -3)  // dim[1]
        assertFails(try write(b, "negdim.nii"), "dimension 1 is -3")
    }

    func testOverflowingDimensions() throws {
        var b = try validBytes()
        setInt16(&b, 40, 7)
        for i in 1...7 { setInt16(&b, 40 + 2 * i, 32767) }
        assertFails(try write(b, "huge.nii"), "overflow")
    }

    func testCorruptGzip() throws {
        let gz = try FileIO.readAll(Fixtures.nifti("ras_float32.nii.gz"))
        var b = gz
        for i in 20..<min(60, b.count - 10) { b[i] ^= 0x5a }
        assertFails(try write(b, "corrupt.nii.gz"), "gzip")
        assertFails(try write(Array(gz.prefix(gz.count / 2)), "halfgz.nii.gz"), "gzip")
    }

    func testUnsupportedAndUnknownDatatype() throws {
        var b = try validBytes()
        setInt16(&b, 70, 128)  // RGB24
        setInt16(&b, 72, 24)
        assertFails(try write(b, "rgb.nii"), "RGB24")
        setInt16(&b, 70, 999)
        assertFails(try write(b, "unknown.nii"), "datatype")
    }

    func testDirectoryAndMissingFile() throws {
        let sub = dir.file("folder.nii")
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        assertFails(sub, "is a directory")
        assertFails(dir.file("nope.nii.gz"), "no such file")
    }

    func testUnknownExtension() throws {
        assertFails(try write(try validBytes(), "image.mha"), "unknown file type")
    }

    func testHDF5WithoutDataset() throws {
        let p = dir.file("nodata.h5")
        try HDF5Writer.create(p) { f in try f.writeFloats("other", shape: [2], data: [1, 2]) }
        assertFails(p, "'image'", infoFails: false)  // `gantry info` lists such a file
        XCTAssertThrowsError(try KSpaceFile.read(p)) { e in
            XCTAssertEqual(e as? GantryError, .missingDataset(path: p, name: "kspace"))
        }
    }

    func testHDF5ThatIsNotHDF5() throws {
        assertFails(try write(Array(repeating: 1, count: 1000), "fake.h5"), "not an HDF5 file")
    }

    func testExistingOutputUntouchedOnFailure() throws {
        let out = dir.file("keep.nii")
        try FileIO.writeAtomically(out, bytes: [1, 2, 3])
        let bad = try write([1, 2, 3, 4], "bad.nii")
        XCTAssertThrowsError(try VolumeFile.convert(bad, to: out))
        XCTAssertEqual(try FileIO.readAll(out), [1, 2, 3])
        XCTAssertThrowsError(try VolumeFile.convert(out, to: out))
    }
}
