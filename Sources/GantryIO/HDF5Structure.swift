import Foundation
import GantryCore

/// An HDF5 file's structures read from its bytes (file format specification version 3, as
/// libhdf5 1.8–1.14 and h5py write it): the superblock (versions 0–3), object headers (versions 1
/// and 2, continuation chunks followed), the local heap of a group's names and the global heap of
/// variable-length values. Gantry reads HDF5 itself rather than through libhdf5 1.10, which trusts
/// sizes in a damaged file — fuzzing found it allocating a stated length of exabytes, reading
/// freed memory while tearing a damaged file's cache down, and looping over a damaged heap. Here
/// every address and size is checked against the file before it is used; a damaged structure is a
/// one-line error.
final class HDF5Structure {
    let path: String
    let fileSize: UInt64
    /// Byte position that file addresses are relative to (the superblock's base address).
    let base: UInt64
    /// "Size of offsets" and "size of lengths" from the superblock, in bytes.
    let offsetSize: Int
    let lengthSize: Int
    /// Address of the root group's object header.
    let rootAddress: UInt64
    private let handle: FileHandle
    /// The whole file when it is small (metadata reads then cost no system call).
    private var whole: [UInt8]?
    /// Global heap collections read last, each with its objects' positions (variable-length
    /// values are read in file order, so a few cover a whole dataset).
    private var collections: [(address: UInt64, bytes: [UInt8], objects: [Int: Range<Int>])] = []
    /// Bytes of index structures (B-tree nodes, symbol tables) read so far: a damaged file whose
    /// nodes overlap could otherwise make a walk read the file over and over.
    private var indexBytes = 0

    init(path: String) throws {
        self.path = path
        handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        fileSize = (try? handle.seekToEnd()) ?? 0
        let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]
        // The superblock sits at 0, 512, 1024, 2048, … (after a user block).
        var at: UInt64 = 0
        var found: UInt64?
        while at + 48 <= fileSize {
            if let head = try? Self.read(handle, at: at, count: 8), head == signature { found = at; break }
            at = at == 0 ? 512 : at * 2
        }
        guard let sb = found else { throw GantryError.invalidFile(path: path, problem: "not an HDF5 file (no superblock)") }
        let h = try Self.read(handle, at: sb, count: Int(min(128, fileSize - sb)))
        let version = h[8]
        // Versions 0/1: base, free-space, end-of-file and driver addresses, then the root group's
        // symbol table entry (link name offset, object header address). 2/3: base, extension,
        // end-of-file, root object header addresses.
        let baseAt: Int, rootAt: Int
        switch version {
        case 0, 1:
            offsetSize = Int(h[13]); lengthSize = Int(h[14])
            baseAt = version == 0 ? 24 : 28
            rootAt = baseAt + 5 * offsetSize
        case 2, 3:
            offsetSize = Int(h[9]); lengthSize = Int(h[10])
            baseAt = 12
            rootAt = baseAt + 3 * offsetSize
        default:
            throw GantryError.unsupported(path: path, problem: "HDF5 superblock version \(version)")
        }
        guard [2, 4, 8].contains(offsetSize), [2, 4, 8].contains(lengthSize), rootAt + offsetSize <= h.count else {
            throw GantryError.invalidFile(path: path, problem: "HDF5 superblock sizes of offsets/lengths \(offsetSize)/\(lengthSize)")
        }
        if fileSize <= 4 << 20 { whole = try Self.read(handle, at: 0, count: Int(fileSize)) }
        // A base address of 0 is the usual case; libhdf5 writes the superblock's own position.
        base = Self.unsigned(h, at: baseAt, size: offsetSize)
        rootAddress = Self.unsigned(h, at: rootAt, size: offsetSize)
    }

    /// The "undefined address" (all bits set).
    func isUndefined(_ address: UInt64, size: Int) -> Bool {
        address == (size >= 8 ? UInt64.max : (UInt64(1) << UInt64(8 * size)) - 1)
    }

    // MARK: Object header messages

    struct Message { var type: Int; var flags: UInt8; var body: [UInt8] }

    /// Every message of the object header at `address`, following continuation messages. Shared
    /// messages (flag 0x02) are replaced by the message they point to in a committed object's
    /// header; messages in the shared-message heap are refused.
    func messages(at address: UInt64, resolvingShared: Bool = true) throws -> [Message] {
        let prefix = try read(at: address, count: 16)
        var chunks: [(at: UInt64, count: UInt64, version2: Bool)] = []
        var out: [Message] = []
        var trackOrder = false
        if prefix[0] == 1 {
            chunks.append((address + 16, Self.unsigned(prefix, at: 8, size: 4), false))
        } else if prefix.starts(with: Array("OHDR".utf8)), prefix[4] == 2 {
            let flags = prefix[5]
            trackOrder = flags & 0x04 != 0
            var pos = 6 + (flags & 0x20 != 0 ? 16 : 0) + (flags & 0x10 != 0 ? 4 : 0)
            let sizeBytes = 1 << Int(flags & 0x03)
            let head = try read(at: address, count: pos + sizeBytes)
            let size = Self.unsigned(head, at: pos, size: sizeBytes)
            pos += sizeBytes
            chunks.append((address + UInt64(pos), size, true))
        } else {
            throw damaged("object header at \(address) has an unknown version")
        }
        // An object header is at most a few kilobytes per message: its chunks together may not
        // exceed the file or 16 MB (a continuation loop or a garbage length ends here).
        var visited = 0, total: UInt64 = 0
        while !chunks.isEmpty {
            visited += 1
            let chunk = chunks.removeFirst()
            total &+= chunk.count
            guard visited <= 4096, chunk.count <= fileSize, total <= min(fileSize, 16 << 20) else {
                throw damaged("object header chunks beyond the file or 16 MB")
            }
            var b = try read(at: chunk.at, count: Int(chunk.count))
            var pos = 0
            if chunk.version2 && visited > 1 {                // a continuation: signature and checksum
                guard b.starts(with: Array("OCHK".utf8)), b.count >= 8 else { throw damaged("object header continuation without its signature") }
                b.removeLast(4); pos = 4
            }
            let headerSize = chunk.version2 ? (trackOrder ? 6 : 4) : 8
            while pos + headerSize <= b.count {
                let type: Int, size: Int, flags: UInt8
                if chunk.version2 {
                    type = Int(b[pos]); size = Int(Self.unsigned(b, at: pos + 1, size: 2)); flags = b[pos + 3]
                } else {
                    type = Int(Self.unsigned(b, at: pos, size: 2)); size = Int(Self.unsigned(b, at: pos + 2, size: 2)); flags = b[pos + 4]
                }
                pos += headerSize
                guard pos + size <= b.count else { throw damaged("object header message overruns its chunk") }
                let body = Array(b[pos..<(pos + size)])
                pos += size
                if type == 0x10 {                                // continuation: address, length
                    guard body.count >= offsetSize + lengthSize else { throw damaged("continuation message of \(body.count) bytes") }
                    chunks.append((Self.unsigned(body, at: 0, size: offsetSize), Self.unsigned(body, at: offsetSize, size: lengthSize), chunk.version2))
                } else if flags & 0x02 != 0 && resolvingShared {
                    out.append(Message(type: type, flags: flags, body: try sharedMessage(type: type, body)))
                } else {
                    out.append(Message(type: type, flags: flags, body: body))
                }
            }
        }
        return out
    }

    /// The body of a shared message: the message of the same type in the header of the object it
    /// names (a committed datatype). Messages kept in the shared-message heap are refused.
    func sharedMessage(type: Int, _ body: [UInt8]) throws -> [UInt8] {
        guard body.count >= 2 else { throw damaged("shared message of \(body.count) bytes") }
        let version = body[0], kind = body[1]
        let addressAt: Int
        switch version {
        case 1: addressAt = 8
        case 2: addressAt = 2
        case 3:
            guard kind == 2 else {
                throw GantryError.unsupported(path: path, problem: "an HDF5 message in the shared-message heap (written with H5Pset_shared_mesg_nindexes); rewrite it with h5repack")
            }
            addressAt = 2
        default: throw damaged("shared message version \(version)")
        }
        guard body.count >= addressAt + offsetSize else { throw damaged("shared message of \(body.count) bytes") }
        let address = Self.unsigned(body, at: addressAt, size: offsetSize)
        // The committed object's own message is not shared again (one level only).
        guard let m = try messages(at: address, resolvingShared: false).first(where: { $0.type == type && $0.flags & 0x02 == 0 }) else {
            throw damaged("shared message type \(type) not found at \(address)")
        }
        return m.body
    }

    // MARK: Heaps

    /// A group's local heap (its link names): "HEAP" version 0, the data segment inside the file.
    /// Returns the data segment.
    func localHeap(at address: UInt64) throws -> [UInt8] {
        let h = try read(at: address, count: 8 + 2 * lengthSize + offsetSize)
        guard h.starts(with: Array("HEAP".utf8)), h[4] == 0 else { throw damaged("local heap at \(address) without its signature") }
        let size = Self.unsigned(h, at: 8, size: lengthSize), data = Self.unsigned(h, at: 8 + 2 * lengthSize, size: offsetSize)
        guard size <= fileSize, data <= fileSize, size <= fileSize - data, size <= 64 << 20 else {
            throw damaged("local heap data of \(size) bytes at \(data) beyond the \(fileSize)-byte file")
        }
        return try read(at: data, count: Int(size))
    }

    /// Object `index` of the global heap collection at `address` (variable-length values): "GCOL"
    /// version 1, the collection inside the file, each object (index 2, references 2, reserved 4,
    /// size) moving forward inside it. A damaged object size made libhdf5 1.10's walk loop forever.
    func globalHeapObject(collection address: UInt64, index: Int) throws -> [UInt8] {
        if collections.firstIndex(where: { $0.address == address }) == nil {
            let head = try read(at: address, count: 8 + lengthSize)
            guard head.starts(with: Array("GCOL".utf8)), head[4] == 1 else { throw damaged("global heap collection at \(address) without its signature") }
            let size = Self.unsigned(head, at: 8, size: lengthSize)
            guard size >= UInt64(8 + lengthSize), size <= min(fileSize, 1 << 30) else { throw damaged("global heap collection of \(size) bytes") }
            try charge(Int(size))
            let b = try read(at: address, count: Int(size))
            // The collection's header (signature, version, reserved, size) and each object's header
            // (index, references, reserved, size) happen to be the same length.
            let header = 8 + lengthSize
            var objects: [Int: Range<Int>] = [:]
            var p = header
            while p + header <= b.count {
                let i = Int(Self.unsigned(b, at: p, size: 2)), size = Self.unsigned(b, at: p + 8, size: lengthSize)
                if i == 0 { break }                               // free space: the rest of the collection
                guard size <= UInt64(b.count - p - header) else { throw damaged("global heap object of \(size) bytes in a \(b.count)-byte collection") }
                objects[i] = (p + header)..<(p + header + Int(size))
                p += header + (Int(size) + 7) & ~7
            }
            collections.append((address, b, objects))
            if collections.count > 8 { collections.removeFirst() }
        }
        let c = collections.first { $0.address == address }!
        guard let range = c.objects[index] else { throw damaged("global heap object \(index) not in the collection at \(address)") }
        return Array(c.bytes[range])
    }

    /// Counts `bytes` of index structures against a budget of four times the file (and 64 MB).
    func charge(_ bytes: Int) throws {
        indexBytes += max(bytes, 0)
        guard indexBytes <= 4 * Int(fileSize) + (64 << 20) else { throw damaged("index structures that read the file more than four times over") }
    }

    /// The value of a stored variable-length element (a 4-byte length, a collection address and a
    /// 4-byte index): `length × baseSize` bytes, no more than its heap object holds.
    func variableLengthValue(_ element: ArraySlice<UInt8>, baseSize: Int) throws -> [UInt8] {
        let e = Array(element)
        let length = Self.unsigned(e, at: 0, size: 4)
        guard length > 0 else { return [] }
        let collection = Self.unsigned(e, at: 4, size: offsetSize), index = Int(Self.unsigned(e, at: 4 + offsetSize, size: 4))
        let object = try globalHeapObject(collection: collection, index: index)
        let (bytes, overflow) = length.multipliedReportingOverflow(by: UInt64(max(baseSize, 1)))
        guard !overflow, bytes <= UInt64(object.count) else {
            throw damaged("a variable-length value of \(length) elements in a \(object.count)-byte heap object")
        }
        return Array(object.prefix(Int(bytes)))
    }

    // MARK: Bytes

    /// `count` bytes at file address `address` (relative to the base address).
    func read(at address: UInt64, count: Int) throws -> [UInt8] {
        let at = try absolute(address, count: count)
        if let whole { return Array(whole[Int(at)..<(Int(at) + count)]) }
        return try Self.read(handle, at: at, count: count)
    }

    /// Fills `buffer` from file address `address`.
    func read(at address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
        var at = try absolute(address, count: buffer.count), done = 0
        if let whole, buffer.count > 0 {
            whole.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[Int(at)..<(Int(at) + buffer.count)])) }
            return
        }
        while done < buffer.count {
            let n = pread(handle.fileDescriptor, buffer.baseAddress! + done, buffer.count - done, off_t(at))
            guard n > 0 else { throw GantryError.invalidFile(path: path, problem: "read failed at byte \(at)") }
            done += n; at += UInt64(n)
        }
    }

    private func absolute(_ address: UInt64, count: Int) throws -> UInt64 {
        let (absolute, overflow) = base.addingReportingOverflow(address)
        guard !overflow, count >= 0, absolute <= fileSize, UInt64(count) <= fileSize - absolute else {
            throw damaged("a structure of \(count) bytes at \(address) lies beyond the end of the \(fileSize)-byte file")
        }
        return absolute
    }

    private static func read(_ handle: FileHandle, at: UInt64, count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { pread(handle.fileDescriptor, $0.baseAddress! + done, count - done, off_t(at) + off_t(done)) }
            guard n > 0 else { break }
            done += n
        }
        return done == count ? out : Array(out.prefix(done))
    }

    /// A little-endian field; bytes beyond `b` read as 0 (callers check lengths first).
    static func unsigned(_ b: [UInt8], at: Int, size: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in stride(from: size - 1, through: 0, by: -1) where at + i >= 0 && at + i < b.count { v = v << 8 | UInt64(b[at + i]) }
        return v
    }

    func damaged(_ what: String) -> GantryError {
        .invalidFile(path: path, problem: "damaged HDF5 structure: \(what)")
    }
}

/// The integer arithmetic HDF5's index structures are sized by (libhdf5's H5VM_log2_gen and
/// H5VM_limit_enc_size), in one place.
extension Int {
    /// ⌊log₂ self⌋ for self ≥ 1 (−1 for 0).
    var floorLog2: Int { Int.bitWidth - leadingZeroBitCount - 1 }
    var isPowerOfTwo: Bool { self > 0 && self & (self - 1) == 0 }
    /// Bytes that encode values up to self.
    var encodedBytes: Int { self <= 0 ? 1 : floorLog2 / 8 + 1 }
}
