import GantryCore

/// The chunk indexes of a chunked dataset (file format specification, "Data Layout Message"
/// and the index structures): a version-1 B-tree (libhdf5's default format), and in the latest
/// format a single chunk, an implicit index, a fixed array (no unlimited dimension), an extensible
/// array (one unlimited dimension) or a version-2 B-tree (more than one). Each yields the stored
/// chunks with their positions; `chunks` checks every position is chunk-aligned, inside the
/// dataset and taken once.
extension HDF5Storage {
    /// Every stored chunk, each at a chunk-aligned position inside the dataset, none twice.
    func chunks(dimensions: [Int], chunk: [Int], elementSize: Int, file: HDF5Structure) throws -> [Chunk] {
        guard case .chunked(_, let index) = layout else { return [] }
        let grid = zip(dimensions, chunk).map { ($0 + $1 - 1) / $1 }
        let gridCount = grid.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        let plain = UInt64(chunk.reduce(elementSize, *))
        var found: [Chunk] = []
        switch index {
        case .btree1(let root):
            if !file.isUndefined(root, size: file.offsetSize) {
                var visited = Set<UInt64>()
                try walkChunkTree(root, rank: dimensions.count, file: file, depth: 0, visited: &visited, into: &found, limit: gridCount)
            }
        case .single(let address, let filtered, let mask):
            if !file.isUndefined(address, size: file.offsetSize) {
                found = [Chunk(offsets: dimensions.map { _ in 0 }, address: address, size: filtered ?? plain, filterMask: mask)]
            }
        case .implicit(let address):
            if !file.isUndefined(address, size: file.offsetSize) {
                let (bytes, overflow) = UInt64(gridCount).multipliedReportingOverflow(by: plain)
                guard !overflow, address <= file.fileSize, bytes <= file.fileSize - address else {
                    throw file.damaged("implicitly indexed chunks of \(bytes) bytes beyond the file")
                }
                found = (0..<gridCount).map { i in Chunk(offsets: position(i, grid: grid, chunk: chunk), address: address + UInt64(i) * plain, size: plain, filterMask: 0) }
            }
        case .fixedArray(let header):
            if !file.isUndefined(header, size: file.offsetSize) {
                found = try fixedArray(header, count: gridCount, plain: plain, file: file).compactMap { i, c in
                    var c = c; c.offsets = position(i, grid: grid, chunk: chunk); return c
                }
            }
        case .extensibleArray(let header, let axis):
            if !file.isUndefined(header, size: file.offsetSize) {
                // The linear index runs over the grid with the unlimited axis moved first.
                let order = [axis] + (0..<grid.count).filter { $0 != axis }
                found = try extensibleArray(header, count: gridCount, plain: plain, file: file).map { i, c in
                    let swizzled = position(i, grid: order.map { grid[$0] }, chunk: order.map { chunk[$0] })
                    var c = c, offsets = [Int](repeating: 0, count: grid.count)
                    for (k, d) in order.enumerated() { offsets[d] = swizzled[k] }
                    c.offsets = offsets
                    return c
                }
            }
        case .btree2(let header):
            if !file.isUndefined(header, size: file.offsetSize) {
                found = try btree2Chunks(header, rank: dimensions.count, chunk: chunk, plain: plain, file: file)
                guard found.count <= gridCount else { throw file.damaged("chunk B-tree with more chunks than the dataset") }
            }
        }
        var seen = Set<[Int]>()
        for c in found {
            guard c.offsets.count == dimensions.count,
                  zip(c.offsets, zip(dimensions, chunk)).allSatisfy({ o, dc in o >= 0 && o < max(dc.0, 1) && o % dc.1 == 0 }),
                  seen.insert(c.offsets).inserted else {
                throw file.damaged("a chunk at \(c.offsets) outside the \(dimensions) dataset or stored twice")
            }
        }
        return found
    }

    private func position(_ linear: Int, grid: [Int], chunk: [Int]) -> [Int] {
        var rest = linear
        var out = [Int](repeating: 0, count: grid.count)
        for d in stride(from: grid.count - 1, through: 0, by: -1) { out[d] = rest % grid[d] * chunk[d]; rest /= grid[d] }
        return out
    }

    /// A version-1 B-tree of chunks (type 1): keys are (stored size, filter mask, offsets…, 0);
    /// children of level 0 are the chunks.
    private func walkChunkTree(_ address: UInt64, rank: Int, file: HDF5Structure, depth: Int, visited: inout Set<UInt64>, into found: inout [Chunk], limit: Int) throws {
        guard depth < 32, visited.insert(address).inserted else { throw file.damaged("chunk B-tree deeper than 32 levels or with a node reached twice") }
        let o = file.offsetSize
        let head = try file.read(at: address, count: 8 + 2 * o)
        guard head.starts(with: Array("TREE".utf8)), head[4] == 1 else { throw file.damaged("chunk B-tree node at \(address) without its signature") }
        let level = Int(head[5]), entries = Int(HDF5Structure.unsigned(head, at: 6, size: 2))
        let keySize = 8 + 8 * (rank + 1)
        try file.charge(entries * (keySize + o) + keySize)
        let body = try file.read(at: address + UInt64(8 + 2 * o), count: entries * (keySize + o) + keySize)
        for i in 0..<entries {
            let k = i * (keySize + o)
            let child = HDF5Structure.unsigned(body, at: k + keySize, size: o)
            if level == 0 {
                let offsets = (0..<rank).map { Int(clamping: HDF5Structure.unsigned(body, at: k + 8 + 8 * $0, size: 8)) }
                found.append(Chunk(offsets: offsets, address: child, size: HDF5Structure.unsigned(body, at: k, size: 4),
                                   filterMask: UInt32(HDF5Structure.unsigned(body, at: k + 4, size: 4))))
                guard found.count <= limit else { throw file.damaged("chunk B-tree with more chunks than the dataset") }
            } else {
                try walkChunkTree(child, rank: rank, file: file, depth: depth + 1, visited: &visited, into: &found, limit: limit)
            }
        }
    }

    /// A fixed array index ("FAHD" header, "FADB" data block, paged when it has more entries than
    /// a page): one entry per chunk in C order over the chunk grid; undefined addresses are chunks
    /// never written. Returns (linear chunk index, chunk).
    private func fixedArray(_ header: UInt64, count: Int, plain: UInt64, file: HDF5Structure) throws -> [(Int, Chunk)] {
        let o = file.offsetSize, l = file.lengthSize
        let h = try file.read(at: header, count: 8 + l + o + 4)
        guard h.starts(with: Array("FAHD".utf8)), h[4] == 0 else { throw file.damaged("fixed array header at \(header) without its signature") }
        let filtered = h[5] == 1, entrySize = Int(h[6]), pageBits = Int(h[7])
        let entries = Int(clamping: HDF5Structure.unsigned(h, at: 8, size: l)), block = HDF5Structure.unsigned(h, at: 8 + l, size: o)
        guard entries == count, pageBits < 32, entrySize >= o + (filtered ? 5 : 0), entrySize <= o + 8 + 4 else {
            throw file.damaged("fixed array of \(entries) entries of \(entrySize) bytes for \(count) chunks")
        }
        if file.isUndefined(block, size: o) { return [] }
        let pageEntries = 1 << pageBits
        let paged = entries > pageEntries
        let pages = paged ? (entries + pageEntries - 1) / pageEntries : 0
        let bitmapBytes = paged ? (pages + 7) / 8 : 0
        let prefix = 6 + o + bitmapBytes
        let d = try file.read(at: block, count: prefix)
        guard d.starts(with: Array("FADB".utf8)), d[4] == 0 else { throw file.damaged("fixed array data block at \(block) without its signature") }
        var out: [(Int, Chunk)] = []
        func decodeEntries(_ b: [UInt8], first: Int, count n: Int) {
            for j in 0..<n {
                if let c = entry(b, at: j * entrySize, size: entrySize, filtered: filtered, plain: plain, file: file) { out.append((first + j, c)) }
            }
        }
        if !paged {
            decodeEntries(try file.read(at: block + UInt64(prefix), count: entries * entrySize), first: 0, count: entries)
            return out
        }
        var pageAt = block + UInt64(prefix + 4)
        for p in 0..<pages {
            let n = min(pageEntries, entries - p * pageEntries)
            if d[6 + o + p / 8] & (0x80 >> UInt8(p % 8)) != 0 {
                decodeEntries(try file.read(at: pageAt, count: n * entrySize), first: p * pageEntries, count: n)
            }
            pageAt += UInt64(n * entrySize + 4)
        }
        return out
    }

    /// One chunk entry of a fixed or extensible array: its address, then (filtered chunks) its
    /// stored size in the bytes left and a 4-byte filter mask; nil for a chunk never written.
    private func entry(_ b: [UInt8], at e: Int, size entrySize: Int, filtered: Bool, plain: UInt64, file: HDF5Structure) -> Chunk? {
        let o = file.offsetSize
        let address = HDF5Structure.unsigned(b, at: e, size: o)
        guard !file.isUndefined(address, size: o) else { return nil }
        let size = filtered ? HDF5Structure.unsigned(b, at: e + o, size: entrySize - o - 4) : plain
        let mask = filtered ? UInt32(HDF5Structure.unsigned(b, at: e + entrySize - 4, size: 4)) : 0
        return Chunk(offsets: [], address: address, size: size, filterMask: mask)
    }

    /// An extensible array ("EAHD" header, "EAIB" index block, "EASB" super blocks, "EADB" data
    /// blocks): the first elements in the index block, then data blocks grouped in super blocks —
    /// super block u holds 2^⌊u/2⌋ data blocks of 2^⌊(u+1)/2⌋ × the minimum elements; the first
    /// super blocks' data block addresses sit in the index block, later ones' in their own super
    /// block (libhdf5's H5EA geometry). Returns (linear chunk index, chunk) for each written chunk
    /// below `count`.
    private func extensibleArray(_ header: UInt64, count: Int, plain: UInt64, file: HDF5Structure) throws -> [(Int, Chunk)] {
        let o = file.offsetSize, l = file.lengthSize
        let h = try file.read(at: header, count: 12 + 6 * l + o + 4)
        guard h.starts(with: Array("EAHD".utf8)), h[4] == 0 else { throw file.damaged("extensible array header at \(header) without its signature") }
        let filtered = h[5] == 1, entrySize = Int(h[6]), maxBits = Int(h[7]), indexElements = Int(h[8])
        let minElements = Int(h[9]), minPointers = Int(h[10]), pageBits = Int(h[11])
        let indexBlock = HDF5Structure.unsigned(h, at: 12 + 6 * l, size: o)
        guard (1...64).contains(maxBits), minElements.isPowerOfTwo, minPointers.isPowerOfTwo, minPointers >= 2, pageBits < 32,
              minElements.floorLog2 <= maxBits, entrySize >= o + (filtered ? 5 : 0), entrySize <= o + 8 + 4 else {
            throw file.damaged("extensible array with \(entrySize)-byte entries, \(maxBits) bits, blocks of \(minElements)")
        }
        if file.isUndefined(indexBlock, size: o) { return [] }
        let superBlocks = 1 + maxBits - minElements.floorLog2, inIndex = 2 * minPointers.floorLog2
        guard inIndex <= superBlocks else { throw file.damaged("extensible array of \(superBlocks) super blocks") }
        let dataAddresses = 2 * (minPointers - 1), superAddresses = superBlocks - inIndex
        let offsetBytes = (maxBits + 7) / 8, pageElements = 1 << pageBits
        let ib = try file.read(at: indexBlock, count: 6 + o + indexElements * entrySize + (dataAddresses + superAddresses) * o)
        guard ib.starts(with: Array("EAIB".utf8)), ib[4] == 0 else { throw file.damaged("extensible array index block at \(indexBlock) without its signature") }
        var out: [(Int, Chunk)] = []
        for i in 0..<min(indexElements, count) {
            if let c = entry(ib, at: 6 + o + i * entrySize, size: entrySize, filtered: filtered, plain: plain, file: file) { out.append((i, c)) }
        }
        let dataAt = 6 + o + indexElements * entrySize, superAt = dataAt + dataAddresses * o
        var start = indexElements, firstBlock = 0
        for u in 0..<superBlocks where start < count {
            let blocks = 1 << (u / 2), elements = (1 << ((u + 1) / 2)) * minElements
            let paged = elements > pageElements, pages = paged ? elements / pageElements : 0, bitmapBytes = (pages + 7) / 8
            var addresses: [UInt64] = [], bitmaps: [UInt8] = []
            if u < inIndex {
                guard !paged else { throw GantryError.unsupported(path: file.path, problem: "an extensible array whose first data blocks are paged") }
                addresses = (0..<blocks).map { HDF5Structure.unsigned(ib, at: dataAt + (firstBlock + $0) * o, size: o) }
            } else {
                let sb = HDF5Structure.unsigned(ib, at: superAt + (u - inIndex) * o, size: o)
                if !file.isUndefined(sb, size: o) {
                    try file.charge(blocks * (o + bitmapBytes))
                    let b = try file.read(at: sb, count: 6 + o + offsetBytes + blocks * (bitmapBytes + o))
                    guard b.starts(with: Array("EASB".utf8)), b[4] == 0 else { throw file.damaged("extensible array super block at \(sb) without its signature") }
                    let at = 6 + o + offsetBytes
                    bitmaps = paged ? Array(b[at..<(at + blocks * bitmapBytes)]) : []
                    addresses = (0..<blocks).map { HDF5Structure.unsigned(b, at: at + blocks * (paged ? bitmapBytes : 0) + $0 * o, size: o) }
                }
            }
            for (k, address) in addresses.enumerated() {
                let first = start + k * elements
                guard first < count else { break }
                guard !file.isUndefined(address, size: o) else { continue }
                let n = min(elements, count - first), prefix = 6 + o + offsetBytes
                let head = try file.read(at: address, count: prefix)
                guard head.starts(with: Array("EADB".utf8)), head[4] == 0 else { throw file.damaged("extensible array data block at \(address) without its signature") }
                try file.charge(n * entrySize)
                if !paged {
                    let b = try file.read(at: address + UInt64(prefix), count: n * entrySize)
                    for j in 0..<n { if let c = entry(b, at: j * entrySize, size: entrySize, filtered: filtered, plain: plain, file: file) { out.append((first + j, c)) } }
                    continue
                }
                // Pages follow the block's header and checksum, each its elements and a checksum;
                // the super block's bitmap says which pages were written.
                var pageAt = address + UInt64(prefix + 4)
                for p in 0..<pages {
                    let m = min(pageElements, n - p * pageElements)
                    guard m > 0 else { break }
                    if bitmaps[k * bitmapBytes + p / 8] & (0x80 >> UInt8(p % 8)) != 0 {
                        let b = try file.read(at: pageAt, count: m * entrySize)
                        for j in 0..<m {
                            if let c = entry(b, at: j * entrySize, size: entrySize, filtered: filtered, plain: plain, file: file) { out.append((first + p * pageElements + j, c)) }
                        }
                    }
                    pageAt += UInt64(pageElements * entrySize + 4)
                }
            }
            start += blocks * elements
            firstBlock += blocks
        }
        return out
    }

    /// Chunks in a version-2 B-tree (records of type 10: address and scaled offsets; type 11,
    /// filtered: address, stored size, filter mask, scaled offsets).
    private func btree2Chunks(_ header: UInt64, rank: Int, chunk: [Int], plain: UInt64, file: HDF5Structure) throws -> [Chunk] {
        let o = file.offsetSize
        return try HDF5BTree2.records(at: header, types: [10, 11], file: file).map { r in
            let b = r.bytes, scaledAt = b.count - 8 * rank
            let sizeBytes = scaledAt - o - 4
            guard scaledAt >= o, r.type == 10 || (1...8).contains(sizeBytes) else { throw file.damaged("chunk B-tree record of \(b.count) bytes for rank \(rank)") }
            let offsets = (0..<rank).map { d -> Int in
                let scaled = HDF5Structure.unsigned(b, at: scaledAt + 8 * d, size: 8)
                return scaled < UInt64(1 << 40) ? Int(scaled) * chunk[d] : -1
            }
            return Chunk(offsets: offsets, address: HDF5Structure.unsigned(b, at: 0, size: o),
                         size: r.type == 10 ? plain : HDF5Structure.unsigned(b, at: o, size: sizeBytes),
                         filterMask: r.type == 10 ? 0 : UInt32(HDF5Structure.unsigned(b, at: o + sizeBytes, size: 4)))
        }
    }
}
