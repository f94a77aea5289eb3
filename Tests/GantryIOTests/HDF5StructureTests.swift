import Foundation
import GantryCore
@testable import GantryIO
import XCTest

/// Damaged structures are one-line errors of Gantry's HDF5 reader, before anything is allocated:
/// files written by libhdf5 1.10 (through Gantry) and by h5py, then damaged in a variable-length
/// string's stored length or base-type size, a header chunk's length, a local heap's size or an
/// attribute name's terminator (each of which made libhdf5 1.10 allocate exabytes or read past a
/// buffer when it read the file).
final class HDF5StructureTests: XCTestCase {
    /// 4093 characters: a length whose four little-endian bytes occur once in the file.
    static let long = String(repeating: "x", count: 4093)

    func writeFile(_ path: String, attribute: String = "CORPD_FBK", header: String? = "<xml/>") throws {
        try HDF5Writer.create(path) { f in
            if let header { try f.writeString("ismrmrd_header", header) }
            try f.setAttribute("acquisition", .string(attribute))
        }
    }

    /// The file with the one occurrence of `pattern` outside the global heap (which records each
    /// object's size too) replaced by `replacement`.
    func damaged(_ path: String, _ pattern: [UInt8], _ replacement: [UInt8], out: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let heaps = (0..<(bytes.count - 16)).filter { bytes[$0..<($0 + 4)].elementsEqual("GCOL".utf8) }.map { h in
            h..<(h + bytes[(h + 8)..<(h + 16)].reversed().reduce(0) { $0 << 8 | Int($1) })
        }
        let hits = (0...(bytes.count - pattern.count)).filter { i in
            !heaps.contains { $0.contains(i) } && Array(bytes[i..<(i + pattern.count)]) == pattern
        }
        XCTAssertEqual(hits.count, 1, "the pattern must occur once")
        var patched = bytes
        patched.replaceSubrange(hits[0]..<(hits[0] + pattern.count), with: replacement)
        try Data(patched).write(to: URL(fileURLWithPath: out))
    }

    func testStoredLengthsOfSoundFilesAreFoundAndTheValuesRead() throws {
        let dir = try TempDir()
        try writeFile(dir.file("a.h5"), attribute: Self.long, header: "<ismrmrdHeader/>")
        let f = try HDF5File(readingFrom: dir.file("a.h5"))
        XCTAssertEqual(try f.attribute("acquisition"), .string(Self.long))
        XCTAssertEqual(try f.readString("ismrmrd_header"), "<ismrmrdHeader/>")
        XCTAssertThrowsError(try f.attribute("no such"))
        // h5py's files (another writer, another libhdf5) read the same way.
        XCTAssertEqual(try KSpaceFile.read(Fixtures.hdf5("fastmri_multicoil.h5")).acquisition, "CORPD_FBK")
    }

    /// Without the check libhdf5 allocates and fills 2 GB, then reads (or fails with its own error);
    /// the messages below come only from the check (peak memory: the bad-input corpus, per process).
    func testAStoredLengthTheFileCannotHoldIsRefusedBeforeAllocating() throws {
        let dir = try TempDir()
        try writeFile(dir.file("a.h5"), attribute: Self.long)
        try writeFile(dir.file("d.h5"), header: Self.long)
        let claim: [UInt8] = [0xF0, 0xFF, 0xFF, 0x7F]          // 2 GB
        try damaged(dir.file("a.h5"), [0xFD, 0x0F, 0, 0], claim, out: dir.file("a-bad.h5"))
        try damaged(dir.file("d.h5"), [0xFD, 0x0F, 0, 0], claim, out: dir.file("d-bad.h5"))
        let a = try HDF5File(readingFrom: dir.file("a-bad.h5"))
        XCTAssertThrowsError(try a.attribute("acquisition")) { XCTAssert("\($0)".contains("a variable-length value of 2147483632 elements"), "\($0)") }
        XCTAssertEqual(a.attributes(of: "/").first?.1, nil, "listed as unreadable")
        let d = try HDF5File(readingFrom: dir.file("d-bad.h5"))
        XCTAssertThrowsError(try d.readString("ismrmrd_header")) { XCTAssert("\($0)".contains("a variable-length value of 2147483632 elements"), "\($0)") }
    }

    func testABaseTypeSizeThatMultipliesTheLengthIsRefused() throws {
        // The vlen string type: class 9 version 1, size 16; its base: 1-byte characters.
        let dir = try TempDir()
        try writeFile(dir.file("a.h5"), attribute: Self.long, header: nil)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.file("a.h5"))))
        let at = try XCTUnwrap((0..<(bytes.count - 16)).first { i in
            bytes[i] == 0x19 && bytes[(i + 4)..<(i + 8)].elementsEqual([16, 0, 0, 0]) && bytes[(i + 12)..<(i + 16)].elementsEqual([1, 0, 0, 0])
        })
        try damaged(dir.file("a.h5"), Array(bytes[at..<(at + 16)]), Array(bytes[at..<(at + 12)]) + [0, 0, 0x10, 0], out: dir.file("b.h5"))
        let f = try HDF5File(readingFrom: dir.file("b.h5"))
        XCTAssertThrowsError(try f.attribute("acquisition")) { XCTAssert("\($0)".contains("variable-length string of 1048576-byte characters"), "\($0)") }
    }

    /// libhdf5 1.10 allocated a damaged header chunk length (exabytes, under `H5Fopen` for the root
    /// group) and read unterminated attribute names past their buffer; Gantry's reader refuses them.
    func testDamagedObjectHeadersAreRefused() throws {
        let dir = try TempDir()
        try HDF5Writer.create(dir.file("a.h5")) { f in
            try f.writeFloats("kspace", shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
            try f.setAttribute("acquisition", .string("AXT1"))
        }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.file("a.h5"))))
        let sound = try HDF5File(readingFrom: dir.file("a.h5"))
        let dataset = try sound.address(of: "kspace")
        let root = try sound.address(of: "/")
        func patched(_ at: Int, _ new: [UInt8], _ name: String) throws -> String {
            var b = bytes
            b.replaceSubrange(at..<(at + new.count), with: new)
            try Data(b).write(to: URL(fileURLWithPath: dir.file(name)))
            return dir.file(name)
        }
        // A version-1 header's chunk length (bytes 8–11) of 1 GB, in a dataset and in the root group.
        let huge: [UInt8] = [0, 0, 0, 0x40]
        let d = try HDF5File(readingFrom: try patched(Int(dataset) + 8, huge, "d.h5"))
        XCTAssert(d.tree().first { $0.path == "/kspace" }?.type.hasPrefix("unreadable: damaged HDF5 structure") == true)
        XCTAssertThrowsError(try d.readFloats("kspace")) { XCTAssert("\($0)".contains("damaged HDF5 structure"), "\($0)") }
        XCTAssertThrowsError(try HDF5File(readingFrom: try patched(Int(root) + 8, huge, "r.h5"))) {
            XCTAssert("\($0)".contains("damaged HDF5 structure"), "\($0)")
        }
        // The root group's local heap (link names) with a data segment of 2^62 bytes.
        let heap = try XCTUnwrap((0..<(bytes.count - 4)).first { bytes[$0..<($0 + 4)].elementsEqual("HEAP".utf8) })
        XCTAssertThrowsError(try HDF5File(readingFrom: try patched(heap + 8, [0, 0, 0, 0, 0, 0, 0, 0x40], "h.h5"))) {
            XCTAssert("\($0)".contains("local heap data"), "\($0)")
        }
        // An attribute name whose terminator is gone: that attribute is unreadable, the rest reads.
        let name = Array("acquisition".utf8) + [0]
        let at = try XCTUnwrap((0..<(bytes.count - name.count)).first { Array(bytes[$0..<($0 + name.count)]) == name })
        let n = try HDF5File(readingFrom: try patched(at + 11, [0x58], "n.h5"))
        XCTAssertThrowsError(try n.attribute("acquisition")) { XCTAssert("\($0)".contains("without its terminator"), "\($0)") }
        XCTAssertEqual(try n.readFloats("kspace").data, [1, 2, 3, 4, 5, 6])
    }

    func testDamagedHeaderStructuresAreOneLineErrors() throws {
        let dir = try TempDir()
        try writeFile(dir.file("a.h5"))
        let raw = try HDF5Structure(path: dir.file("a.h5"))
        XCTAssertThrowsError(try raw.messages(at: raw.fileSize + 8)) { XCTAssert("\($0)".contains("beyond the end"), "\($0)") }
        XCTAssertThrowsError(try raw.messages(at: 0)) { XCTAssert("\($0)".contains("unknown version"), "\($0)") }
        XCTAssertThrowsError(try raw.read(at: UInt64.max - 2, count: 8))
        try Data([0x89, 0x48, 0x44, 0x46]).write(to: URL(fileURLWithPath: dir.file("short.h5")))
        XCTAssertThrowsError(try HDF5Structure(path: dir.file("short.h5"))) { XCTAssert("\($0)".contains("superblock"), "\($0)") }
    }
}
