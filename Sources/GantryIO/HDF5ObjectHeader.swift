import Foundation
import GantryCore

/// The few structures of the HDF5 file format Gantry reads itself, from the bytes: the superblock,
/// an object's header messages and the global heap. libhdf5 1.10 trusts sizes in a damaged file —
/// it allocates a variable-length string's stated length inside `H5Aread`/`H5Dread` (a damaged
/// 7 KB file made it allocate 6.4 GB), a header chunk's stated length when it loads an object, and
/// loops forever over a damaged global heap — before any check an API caller could make. Walking
/// these structures here first lets Gantry refuse them. Only what that needs is parsed: object
/// headers version 1 (h5py's and libismrmrd's default) and 2, attribute messages versions 1–3,
/// compact and contiguous data layouts, global heap collections; datatype and dataspace messages
/// in `HDF5MessageCheck`. Every size read is checked against the file's size before it is used.
struct HDF5ObjectHeader {
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

    /// Where an attribute's or a dataset's stored value was found.
    enum Stored: Equatable {
        /// The stored datatype message and the raw stored bytes of the value (for variable-length
        /// types: one element each, length then global-heap id).
        case value(type: [UInt8], data: [UInt8])
        /// Not in the object header (dense attribute storage, a shared message, a chunked or
        /// version-1/2 layout): nothing Gantry can check before libhdf5 reads it.
        case elsewhere
    }

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
        guard let sb = found else { throw GantryError.invalidFile(path: path, problem: "no HDF5 superblock") }
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
        base = Self.unsigned(h, at: baseAt, size: offsetSize)
        rootAddress = Self.unsigned(h, at: rootAt, size: offsetSize)
    }

    /// Walks the object header at `address` as libhdf5 would load it and refuses what would make
    /// libhdf5 1.10 allocate a size from the file unchecked or read past a buffer (all found by
    /// fuzzing): chunks beyond the file, messages beyond their chunk, attribute messages whose
    /// fields overrun the message or whose name is not terminated, datatypes and dataspaces that
    /// overrun their space, a group's local heap beyond the file.
    func validate(objectAt address: UInt64) throws {
        for m in try messages(at: address) where m.flags & 0x02 == 0 {   // shared messages live elsewhere
            do {
                switch m.type {
                case 0x01: try HDF5MessageCheck.dataspace(m.body, at: 0, end: m.body.count, lengthSize: lengthSize)
                case 0x03: _ = try HDF5MessageCheck.datatype(m.body, at: 0, end: m.body.count)
                case 0x11:                                                          // symbol table: B-tree, local heap
                    guard m.body.count >= 2 * offsetSize else { throw HDF5MessageCheck.Damage(what: "symbol table message of \(m.body.count) bytes") }
                    try checkLocalHeap(at: Self.unsigned(m.body, at: offsetSize, size: offsetSize))
                case 0x0C:
                    let f = try attributeFields(m.body)
                    if !f.sharedType { _ = try HDF5MessageCheck.datatype(m.body, at: f.typeAt, end: f.typeAt + f.typeSize) }
                    if !f.sharedSpace {
                        try HDF5MessageCheck.dataspace(m.body, at: f.spaceAt, end: f.spaceAt + f.spaceSize, lengthSize: lengthSize)
                    }
                default: break
                }
            } catch let e as HDF5MessageCheck.Damage {
                throw damaged(e.what)
            }
        }
    }

    /// An attribute message's name, where its datatype, dataspace and value start, and whether the
    /// datatype or dataspace is shared (stored elsewhere; flags of versions 2 and 3).
    private func attributeFields(_ b: [UInt8]) throws -> (name: ArraySlice<UInt8>, typeAt: Int, typeSize: Int, spaceAt: Int, spaceSize: Int,
                                                          dataAt: Int, sharedType: Bool, sharedSpace: Bool) {
        guard b.count >= 8 else { throw damaged("attribute message of \(b.count) bytes") }
        let version = b[0]
        let nameSize = Int(Self.unsigned(b, at: 2, size: 2)), typeSize = Int(Self.unsigned(b, at: 4, size: 2))
        let spaceSize = Int(Self.unsigned(b, at: 6, size: 2))
        let pos: Int, fields: [Int]
        switch version {
        case 1: pos = 8; fields = [nameSize, typeSize, spaceSize].map { ($0 + 7) & ~7 }
        case 2: pos = 8; fields = [nameSize, typeSize, spaceSize]
        case 3: pos = 9; fields = [nameSize, typeSize, spaceSize]
        default: throw damaged("attribute message version \(version)")
        }
        guard nameSize >= 1, pos + fields.reduce(0, +) <= b.count else { throw damaged("attribute message fields overrun the message") }
        guard b[pos..<(pos + nameSize)].contains(0) else { throw damaged("attribute name without its terminator") }
        return (b[pos..<(pos + nameSize)].prefix { $0 != 0 }, pos + fields[0], typeSize, pos + fields[0] + fields[1], spaceSize,
                pos + fields.reduce(0, +), version >= 2 && b[1] & 0x01 != 0, version >= 2 && b[1] & 0x02 != 0)
    }

    /// Size in bytes of one stored variable-length element: its length, then a global-heap id.
    var variableLengthElementSize: Int { 4 + offsetSize + 4 }

    /// The sizes in bytes of `count` stored variable-length elements (length × the base type's
    /// size, as libhdf5 allocates them), each checked against the file size: a sequence cannot be
    /// longer than the file that holds it.
    func variableLengthSizes(type: [UInt8], data: [UInt8], count: Int, what: String) throws -> [UInt64] {
        // Datatype message: class and version, 3 bytes of class bits, size (4), then for a
        // variable-length type (class 9) its base type, whose own size is at its byte 4.
        guard type.count >= 16, type[0] & 0x0F == 9 else { throw damaged("\(what): the stored datatype is not variable-length") }
        let base = Self.unsigned(type, at: 12, size: 4)
        guard count >= 0, count <= data.count / variableLengthElementSize else {
            throw GantryError.invalidFile(path: path, problem: "\(what) claims \(count) elements in \(data.count) stored bytes")
        }
        var heaps = Set<UInt64>()
        return try (0..<count).map { i in
            let (n, overflow) = Self.unsigned(data, at: i * variableLengthElementSize, size: 4).multipliedReportingOverflow(by: max(base, 1))
            guard !overflow, n <= fileSize else {
                throw GantryError.invalidFile(path: path, problem: "\(what) claims a variable-length value of \(overflow ? "more than 2^64" : "\(n)") bytes in a \(fileSize)-byte file")
            }
            let heap = Self.unsigned(data, at: i * variableLengthElementSize + 4, size: offsetSize)
            if n > 0, heaps.insert(heap).inserted { try checkGlobalHeap(at: heap) }
            return n
        }
    }

    /// A group's local heap (its link names), whose data segment size libhdf5 1.10 allocates as
    /// stated when it looks a name up: "HEAP" version 0, the segment inside the file.
    func checkLocalHeap(at address: UInt64) throws {
        let h = try read(at: address, count: 8 + 2 * lengthSize + offsetSize)
        guard h.starts(with: Array("HEAP".utf8)), h[4] == 0 else { throw damaged("local heap at \(address) without its signature") }
        let size = Self.unsigned(h, at: 8, size: lengthSize), data = Self.unsigned(h, at: 8 + 2 * lengthSize, size: offsetSize)
        guard size <= fileSize, data <= fileSize, size <= fileSize - data else {
            throw damaged("local heap data of \(size) bytes at \(data) beyond the \(fileSize)-byte file")
        }
    }

    /// The global heap collection holding variable-length values, walked as libhdf5 1.10 walks it
    /// when it loads one — a damaged object size (a free-space record of 0 bytes) made that walk
    /// loop forever: "GCOL" version 1, the collection inside the file, and each object (index 2,
    /// references 2, reserved 4, size) moving forward inside the collection.
    func checkGlobalHeap(at address: UInt64) throws {
        let head = try read(at: address, count: 8 + lengthSize)
        guard head.starts(with: Array("GCOL".utf8)), head[4] == 1 else { throw damaged("global heap collection at \(address) without its signature") }
        let size = Self.unsigned(head, at: 8, size: lengthSize)
        // The collection's header (signature, version, reserved, size) and each object's header
        // (index, references, reserved, size) happen to be the same length.
        let collectionHeader = 8 + lengthSize, objectHeader = 8 + lengthSize
        guard size >= UInt64(collectionHeader), size <= min(fileSize, 1 << 30) else { throw damaged("global heap collection of \(size) bytes") }
        let b = try read(at: address, count: Int(size))
        var p = collectionHeader
        while p < b.count {
            guard p + objectHeader <= b.count else { break }              // too small for an object: free space
            let index = Self.unsigned(b, at: p, size: 2), objectSize = Self.unsigned(b, at: p + 8, size: lengthSize)
            // libhdf5 steps past a free-space record by its size alone, past an object by its header
            // and its size rounded up to 8 bytes.
            let (aligned, overflow) = objectSize.addingReportingOverflow(7)
            let need = index == 0 ? objectSize : UInt64(objectHeader) + (overflow ? UInt64.max / 2 : aligned & ~7)
            guard need >= UInt64(objectHeader), need <= UInt64(b.count - p) else {
                throw damaged("global heap object of \(objectSize) bytes at \(p) in a \(b.count)-byte collection")
            }
            p += Int(need)
        }
    }

    /// The stored value of attribute `name` of the object whose header is at `address`.
    func attribute(_ name: String, objectAt address: UInt64) throws -> Stored {
        var mayBeDense = false
        for m in try messages(at: address) {
            if m.type == 0x15 { mayBeDense = true }          // attribute info: dense storage possible
            guard m.type == 0x0C else { continue }
            if m.flags & 0x02 != 0 { mayBeDense = true; continue }   // shared message: stored elsewhere
            let b = m.body
            let f = try attributeFields(b)
            if Array(f.name) == Array(name.utf8) {
                if f.sharedType { return .elsewhere }
                return .value(type: Array(b[f.typeAt..<(f.typeAt + f.typeSize)]), data: Array(b[f.dataAt...]))
            }
        }
        if mayBeDense { return .elsewhere }
        throw GantryError.missingDataset(path: path, name: name)
    }

    /// The stored value of the dataset whose header is at `address`: compact data from its layout
    /// message, contiguous data from the file; chunked data (possibly filtered) is `.elsewhere`.
    func datasetValue(objectAt address: UInt64, bytes: Int) throws -> Stored {
        let all = try messages(at: address)
        guard let layout = all.first(where: { $0.type == 0x08 })?.body, layout.count >= 2 else {
            throw damaged("dataset without a layout message")
        }
        guard let typeMessage = all.first(where: { $0.type == 0x03 }) else { throw damaged("dataset without a datatype message") }
        if typeMessage.flags & 0x02 != 0 { return .elsewhere }   // a committed (shared) datatype
        let type = typeMessage.body
        guard layout[0] >= 3 else { return .elsewhere }
        switch layout[1] {
        case 0:   // compact: size, then the data
            guard layout.count >= 4 else { throw damaged("compact layout message of \(layout.count) bytes") }
            let size = Int(Self.unsigned(layout, at: 2, size: 2))
            guard 4 + size <= layout.count, bytes <= size else { throw damaged("compact data of \(size) bytes for \(bytes)") }
            return .value(type: type, data: Array(layout[4..<(4 + bytes)]))
        case 1:   // contiguous: address, size
            guard layout.count >= 2 + offsetSize + lengthSize else { throw damaged("contiguous layout message of \(layout.count) bytes") }
            let at = Self.unsigned(layout, at: 2, size: offsetSize)
            return .value(type: type, data: try read(at: at, count: bytes))
        default:
            return .elsewhere
        }
    }

    // MARK: Object header messages

    struct Message { var type: Int; var flags: UInt8; var body: [UInt8] }

    /// Every message of the object header at `address`, following continuation messages.
    func messages(at address: UInt64) throws -> [Message] {
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
                } else {
                    out.append(Message(type: type, flags: flags, body: body))
                }
            }
        }
        return out
    }

    // MARK: Bytes

    /// `count` bytes at file address `address` (relative to the base address).
    func read(at address: UInt64, count: Int) throws -> [UInt8] {
        let (absolute, overflow) = base.addingReportingOverflow(address)
        guard !overflow, count >= 0, absolute <= fileSize, UInt64(count) <= fileSize - absolute else {
            throw damaged("a structure of \(count) bytes at \(address) lies beyond the end of the \(fileSize)-byte file")
        }
        return try Self.read(handle, at: absolute, count: count)
    }

    private static func read(_ handle: FileHandle, at: UInt64, count: Int) throws -> [UInt8] {
        try handle.seek(toOffset: at)
        let data = try handle.read(upToCount: count) ?? Data()
        return [UInt8](data)
    }

    /// A little-endian field; bytes beyond `b` read as 0 (callers check lengths first).
    static func unsigned(_ b: [UInt8], at: Int, size: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in stride(from: size - 1, through: 0, by: -1) where at + i < b.count { v = v << 8 | UInt64(b[at + i]) }
        return v
    }

    private func damaged(_ what: String) -> GantryError {
        .invalidFile(path: path, problem: "damaged HDF5 structure: \(what)")
    }
}
