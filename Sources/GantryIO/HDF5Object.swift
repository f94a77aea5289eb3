import GantryCore
/// One object (group or dataset) of an HDF5 file: its header's messages, the links of a group —
/// symbol tables (a version-1 B-tree of symbol nodes whose names are in a local heap: libhdf5's
/// default format, h5py's and libismrmrd's files) and compact link messages (the latest format) —
/// and the attributes in its header or in dense storage (`HDF5DenseStorage`, the latest format
/// past 8 links or attributes).
struct HDF5Object {
    let address: UInt64
    let messages: [HDF5Structure.Message]
    let file: HDF5Structure

    init(at address: UInt64, in file: HDF5Structure) throws {
        self.address = address
        self.file = file
        messages = try file.messages(at: address)
    }

    enum Link: Equatable {
        case hard(UInt64)
        case soft(String)
        case external
    }

    var isDataset: Bool { messages.contains { $0.type == 0x08 } }

    func message(_ type: Int) -> [UInt8]? { messages.first { $0.type == type }?.body }

    // MARK: Datasets

    func datatype() throws -> HDF5Datatype {
        guard let b = message(0x03) else { throw file.damaged("dataset without a datatype message") }
        return try decoded { try HDF5Datatype.decode(b, at: 0, end: b.count).type }
    }

    func dataspace() throws -> HDF5Dataspace {
        guard let b = message(0x01) else { throw file.damaged("dataset without a dataspace message") }
        return try decoded { try HDF5Dataspace.decode(b, at: 0, end: b.count, lengthSize: file.lengthSize) }
    }

    private func decoded<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as HDF5Datatype.Damage { throw file.damaged(e.what) }
    }

    // MARK: Links

    /// The group's links by name, in name order.
    func links() throws -> [(name: String, link: Link)] {
        var out: [(String, Link)] = []
        if let table = message(0x11) {
            guard table.count >= 2 * file.offsetSize else { throw file.damaged("symbol table message of \(table.count) bytes") }
            let heap = try file.localHeap(at: HDF5Structure.unsigned(table, at: file.offsetSize, size: file.offsetSize))
            var visited = Set<UInt64>()
            try walkGroupTree(HDF5Structure.unsigned(table, at: 0, size: file.offsetSize), heap: heap, depth: 0, visited: &visited, into: &out)
        }
        if let info = message(0x02) {
            guard info.count >= 2 + 2 * file.offsetSize else { throw file.damaged("link info message of \(info.count) bytes") }
            if let dense = dense(info, creationIndexBytes: 8) {
                for m in try dense.messages() { out.append(try linkMessage(m)) }
            }
        }
        for m in messages where m.type == 0x06 { out.append(try linkMessage(m.body)) }
        guard Set(out.map(\.0)).count == out.count else { throw file.damaged("a group with two links of one name") }
        return out.sorted { $0.0 < $1.0 }
    }

    /// A version-1 B-tree of a group (type 0): keys are heap offsets, level-0 children symbol nodes.
    private func walkGroupTree(_ node: UInt64, heap: [UInt8], depth: Int, visited: inout Set<UInt64>, into out: inout [(String, Link)]) throws {
        let o = file.offsetSize, l = file.lengthSize
        guard depth < 32, visited.insert(node).inserted, visited.count <= 1 << 16 else { throw file.damaged("group B-tree deeper than 32 levels or with a node reached twice") }
        let head = try file.read(at: node, count: 8 + 2 * o)
        guard head.starts(with: Array("TREE".utf8)), head[4] == 0 else { throw file.damaged("group B-tree node at \(node) without its signature") }
        let level = Int(head[5]), entries = Int(HDF5Structure.unsigned(head, at: 6, size: 2))
        try file.charge(entries * (l + o) + l)
        let body = try file.read(at: node + UInt64(8 + 2 * o), count: entries * (l + o) + l)
        for i in 0..<entries {
            let child = HDF5Structure.unsigned(body, at: i * (l + o) + l, size: o)
            if level > 0 {
                try walkGroupTree(child, heap: heap, depth: depth + 1, visited: &visited, into: &out)
                continue
            }
            guard visited.insert(child).inserted else { throw file.damaged("symbol node reached twice") }
            let entrySize = 2 * o + 24
            let s = try file.read(at: child, count: 8)
            guard s.starts(with: Array("SNOD".utf8)), s[4] == 1 else { throw file.damaged("symbol node at \(child) without its signature") }
            let count = Int(HDF5Structure.unsigned(s, at: 6, size: 2))
            try file.charge(count * entrySize)
            let table = try file.read(at: child + 8, count: count * entrySize)
            for e in 0..<count {
                let at = e * entrySize
                let name = try heapString(heap, at: HDF5Structure.unsigned(table, at: at, size: o))
                let cacheType = HDF5Structure.unsigned(table, at: at + 2 * o, size: 4)
                if cacheType == 2 {                       // soft link: its value's offset in the heap
                    out.append((name, .soft(try heapString(heap, at: HDF5Structure.unsigned(table, at: at + 2 * o + 8, size: 4)))))
                } else {
                    out.append((name, .hard(HDF5Structure.unsigned(table, at: at + o, size: o))))
                }
            }
        }
    }

    private func heapString(_ heap: [UInt8], at offset: UInt64) throws -> String {
        guard offset < UInt64(heap.count), let end = heap[Int(offset)...].firstIndex(of: 0) else {
            throw file.damaged("a link name outside its group's local heap")
        }
        return String(decoding: heap[Int(offset)..<end], as: UTF8.self)
    }

    /// A link message: version 1, flags, optional type, creation order and character set, the
    /// name's length (1–8 bytes by the flags), the name, then the target.
    private func linkMessage(_ b: [UInt8]) throws -> (String, Link) {
        guard b.count >= 3, b[0] == 1 else { throw file.damaged("link message") }
        let flags = b[1]
        var p = 2
        var type: UInt8 = 0
        if flags & 0x08 != 0 { type = b[p]; p += 1 }
        if flags & 0x04 != 0 { p += 8 }
        if flags & 0x10 != 0 { p += 1 }
        let width = 1 << Int(flags & 0x03)
        guard p + width <= b.count else { throw file.damaged("link message overruns itself") }
        let length = HDF5Structure.unsigned(b, at: p, size: width); p += width
        guard length >= 1, length <= UInt64(b.count - p) else { throw file.damaged("link name overruns its message") }
        let name = String(decoding: b[p..<(p + Int(length))], as: UTF8.self)
        p += Int(length)
        switch type {
        case 0:
            guard p + file.offsetSize <= b.count else { throw file.damaged("link message overruns itself") }
            return (name, .hard(HDF5Structure.unsigned(b, at: p, size: file.offsetSize)))
        case 1:
            guard p + 2 <= b.count else { throw file.damaged("link message overruns itself") }
            let n = Int(HDF5Structure.unsigned(b, at: p, size: 2))
            guard p + 2 + n <= b.count else { throw file.damaged("soft link overruns its message") }
            return (name, .soft(String(decoding: b[(p + 2)..<(p + 2 + n)], as: UTF8.self)))
        default:
            return (name, .external)
        }
    }

    // MARK: Attributes

    struct Attribute {
        var name: String
        var type: HDF5Datatype
        var space: HDF5Dataspace
        /// The stored elements (`space.count × type.storedSize` bytes).
        var data: [UInt8]
    }

    /// The dense storage a link info (type 2) or attribute info (type 21) message points to, if
    /// its fractal heap address is defined: version 0, flags, a maximum creation index when flag
    /// 0x01 is set, the heap's address, the name index's address.
    private func dense(_ info: [UInt8], creationIndexBytes: Int) -> HDF5DenseStorage? {
        let o = file.offsetSize
        guard info.count >= 2 else { return nil }
        let heapAt = 2 + (info[1] & 0x01 != 0 ? creationIndexBytes : 0)
        guard info.count >= heapAt + 2 * o else { return nil }
        let heap = HDF5Structure.unsigned(info, at: heapAt, size: o), index = HDF5Structure.unsigned(info, at: heapAt + o, size: o)
        guard !file.isUndefined(heap, size: o), !file.isUndefined(index, size: o) else { return nil }
        return HDF5DenseStorage(file: file, heap: heap, index: index)
    }

    /// The attributes in the header and in dense storage by name, each decoded or with the reason
    /// it cannot be (a damaged value does not hide its name, or the other attributes).
    func attributes() throws -> [(name: String, attribute: Result<Attribute, Error>)] {
        var bodies = messages.filter { $0.type == 0x0C }.map(\.body)
        if let info = message(0x15), let dense = dense(info, creationIndexBytes: 2) { bodies += try dense.messages() }
        return try bodies.map { b in (try attributeLayout(b).name, Result { try attribute(b) }) }
    }

    /// An attribute message's name and where its datatype, dataspace and data start: version,
    /// flags, name/datatype/dataspace sizes (padded to 8 in version 1), a character set (version
    /// 3), then the three fields and the data.
    private func attributeLayout(_ b: [UInt8]) throws -> (name: String, typeAt: Int, typeSize: Int, spaceAt: Int, spaceSize: Int, dataAt: Int) {
        guard b.count >= 8 else { throw file.damaged("attribute message of \(b.count) bytes") }
        let version = b[0]
        let nameSize = Int(HDF5Structure.unsigned(b, at: 2, size: 2)), typeSize = Int(HDF5Structure.unsigned(b, at: 4, size: 2))
        let spaceSize = Int(HDF5Structure.unsigned(b, at: 6, size: 2))
        let pos: Int, fields: [Int]
        switch version {
        case 1: pos = 8; fields = [nameSize, typeSize, spaceSize].map { ($0 + 7) & ~7 }
        case 2: pos = 8; fields = [nameSize, typeSize, spaceSize]
        case 3: pos = 9; fields = [nameSize, typeSize, spaceSize]
        default: throw file.damaged("attribute message version \(version)")
        }
        guard nameSize >= 1, pos + fields.reduce(0, +) <= b.count else { throw file.damaged("attribute message fields overrun the message") }
        guard let nul = b[pos..<(pos + nameSize)].firstIndex(of: 0) else { throw file.damaged("attribute name without its terminator") }
        let typeAt = pos + fields[0], spaceAt = typeAt + fields[1]
        return (String(decoding: b[pos..<nul], as: UTF8.self), typeAt, typeSize, spaceAt, spaceSize, spaceAt + fields[2])
    }

    /// An attribute message decoded: its datatype (a committed one followed), dataspace and data.
    private func attribute(_ b: [UInt8]) throws -> Attribute {
        let (name, typeAt, typeSize, spaceAt, spaceSize, dataAt) = try attributeLayout(b)
        let version = b[0]
        var typeBytes = Array(b[typeAt..<(typeAt + typeSize)])
        if version >= 2 && b[1] & 0x01 != 0 { typeBytes = try file.sharedMessage(type: 0x03, typeBytes) }
        guard version < 2 || b[1] & 0x02 == 0 else {
            throw GantryError.unsupported(path: file.path, problem: "attribute '\(name)' has a shared dataspace")
        }
        let type = try decoded { try HDF5Datatype.decode(typeBytes, at: 0, end: typeBytes.count).type }
        let space = try decoded { try HDF5Dataspace.decode(b, at: spaceAt, end: spaceAt + spaceSize, lengthSize: file.lengthSize) }
        let (bytes, overflow) = space.count.multipliedReportingOverflow(by: type.storedSize(offsetSize: file.offsetSize))
        guard !overflow, bytes <= b.count - dataAt else { throw file.damaged("attribute '\(name)' data overruns its message") }
        return Attribute(name: name, type: type, space: space, data: Array(b[dataAt..<(dataAt + bytes)]))
    }
}
