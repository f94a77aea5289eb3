import GantryCore

/// Dense link and attribute storage of HDF5's latest format (a group past 8 links, an object past
/// 8 attributes): the messages live in a fractal heap and a version-2 B-tree indexes them by name
/// (file format specification, "Fractal Heap", "Version 2 B-trees"). Gantry walks the B-tree's
/// records (in any order: callers sort by name) and takes each message from the heap by its id.
/// Managed and tiny heap objects are read; huge objects (messages over the heap's managed size,
/// 64 KB by default) and filtered heaps are refused by name.
struct HDF5DenseStorage {
    let file: HDF5Structure
    let heap: UInt64
    let index: UInt64

    /// The encoded messages (link messages, or attribute messages) the index names.
    func messages() throws -> [[UInt8]] {
        let h = try FractalHeap(at: heap, file: file)
        return try HDF5BTree2.records(at: index, types: [5, 8], file: file).map { record in
            // Link name index (type 5): hash, heap id. Attribute name index (type 8): heap id,
            // message flags, creation order, hash.
            let id = record.type == 5 ? Array(record.bytes.dropFirst(4)) : Array(record.bytes.prefix(8))
            if record.type == 8 && record.bytes.count > 8 && record.bytes[8] & 0x02 != 0 {
                throw GantryError.unsupported(path: file.path, problem: "an attribute kept in the shared-message heap")
            }
            return try h.object(id)
        }
    }

    // MARK: Fractal heap

    private struct FractalHeap {
        let file: HDF5Structure
        let address: UInt64
        let idLength: Int, width: Int, startSize: Int, maxDirectSize: Int, offsetBytes: Int, lengthBytes: Int
        let checksummed: Bool
        /// Direct blocks: heap offset, size, file address.
        let blocks: [(offset: Int, size: Int, address: UInt64)]

        init(at address: UInt64, file: HDF5Structure) throws {
            self.file = file
            self.address = address
            let o = file.offsetSize, l = file.lengthSize
            let count = 4 + 1 + 2 + 2 + 1 + 4 + l + o + l + o + 8 * l + 2 + l + l + 2 + 2 + o + 2
            let h = try file.read(at: address, count: count)
            guard h.starts(with: Array("FRHP".utf8)), h[4] == 0 else { throw file.damaged("fractal heap at \(address) without its signature") }
            idLength = Int(HDF5Structure.unsigned(h, at: 5, size: 2))
            let filterLength = Int(HDF5Structure.unsigned(h, at: 7, size: 2))
            checksummed = h[9] & 0x02 != 0
            let maxManaged = Int(HDF5Structure.unsigned(h, at: 10, size: 4))
            var p = 14 + l + o + l + o + 8 * l
            width = Int(HDF5Structure.unsigned(h, at: p, size: 2)); p += 2
            startSize = Int(clamping: HDF5Structure.unsigned(h, at: p, size: l)); p += l
            maxDirectSize = Int(clamping: HDF5Structure.unsigned(h, at: p, size: l)); p += l
            let maxHeapBits = Int(HDF5Structure.unsigned(h, at: p, size: 2)); p += 2
            p += 2                                                  // starting rows of the root indirect block
            let root = HDF5Structure.unsigned(h, at: p, size: o); p += o
            let rows = Int(HDF5Structure.unsigned(h, at: p, size: 2))
            guard filterLength == 0 else { throw GantryError.unsupported(path: file.path, problem: "a filtered fractal heap (dense storage with I/O filters)") }
            guard (1...64).contains(maxHeapBits), width.isPowerOfTwo, width <= 1 << 16, startSize.isPowerOfTwo, maxDirectSize.isPowerOfTwo,
                  startSize <= maxDirectSize, maxDirectSize <= 1 << 30, rows <= 64, idLength >= 2, idLength <= 64 else {
                throw file.damaged("fractal heap of width \(width), blocks \(startSize)–\(maxDirectSize), \(rows) rows")
            }
            offsetBytes = (maxHeapBits + 7) / 8
            lengthBytes = min((maxDirectSize.floorLog2 + 7) / 8, max(maxManaged, 1).encodedBytes)
            var found: [(Int, Int, UInt64)] = []
            if !file.isUndefined(root, size: o) {
                if rows == 0 {
                    found = [(0, startSize, root)]
                } else {
                    var budget = 1 << 16
                    try Self.indirect(root, offset: 0, rows: rows, width: width, startSize: startSize, maxDirectSize: maxDirectSize,
                                      offsetBytes: offsetBytes, file: file, depth: 0, budget: &budget, into: &found)
                }
            }
            blocks = found.sorted { $0.0 < $1.0 }
        }

        /// Size of the blocks in row `r` of the doubling table.
        static func rowSize(_ r: Int, startSize: Int) -> Int { r == 0 ? startSize : startSize << (r - 1) }

        /// An indirect block's children: rows of `width` blocks, direct while their size is at most
        /// the maximum direct block size, then indirect blocks of their own.
        static func indirect(_ address: UInt64, offset: Int, rows: Int, width: Int, startSize: Int, maxDirectSize: Int, offsetBytes: Int,
                             file: HDF5Structure, depth: Int, budget: inout Int, into found: inout [(Int, Int, UInt64)]) throws {
            let o = file.offsetSize
            guard depth < 8, rows <= 64 else { throw file.damaged("fractal heap indirect blocks nested more than 8 deep") }
            budget -= rows * width
            guard budget >= 0 else { throw file.damaged("fractal heap with more than 65536 blocks") }
            let head = 5 + o + offsetBytes
            let b = try file.read(at: address, count: head + rows * width * o)
            guard b.starts(with: Array("FHIB".utf8)), b[4] == 0 else { throw file.damaged("fractal heap indirect block at \(address) without its signature") }
            var at = offset
            for r in 0..<rows {
                let size = rowSize(r, startSize: startSize)
                for c in 0..<width {
                    let child = HDF5Structure.unsigned(b, at: head + (r * width + c) * o, size: o)
                    if !file.isUndefined(child, size: o) {
                        if size <= maxDirectSize {
                            found.append((at, size, child))
                        } else {
                            // A child indirect block spans `size` bytes of the heap in rows starting
                            // again at the start size.
                            let firstRowSpan = startSize * width
                            let childRows = (size / firstRowSpan).floorLog2 + 1
                            try indirect(child, offset: at, rows: childRows, width: width, startSize: startSize, maxDirectSize: maxDirectSize,
                                         offsetBytes: offsetBytes, file: file, depth: depth + 1, budget: &budget, into: &found)
                        }
                    }
                    let (next, overflow) = at.addingReportingOverflow(size)
                    guard !overflow else { throw file.damaged("fractal heap offsets overflow") }
                    at = next
                }
            }
        }

        /// The object a heap id names: managed (offset and length inside a direct block) or tiny
        /// (the bytes in the id itself).
        func object(_ id: [UInt8]) throws -> [UInt8] {
            guard id.count >= 1 else { throw file.damaged("empty fractal heap id") }
            switch (id[0] >> 4) & 0x03 {
            case 0:
                guard id.count >= 1 + offsetBytes + lengthBytes else { throw file.damaged("fractal heap id of \(id.count) bytes") }
                let offset = Int(clamping: HDF5Structure.unsigned(id, at: 1, size: offsetBytes))
                let length = Int(clamping: HDF5Structure.unsigned(id, at: 1 + offsetBytes, size: lengthBytes))
                guard let block = blocks.last(where: { $0.offset <= offset }), offset - block.offset < block.size,
                      length >= 1, length <= block.size - (offset - block.offset) else {
                    throw file.damaged("fractal heap object at \(offset) of \(length) bytes outside the heap's blocks")
                }
                let head = 5 + file.offsetSize + offsetBytes + (checksummed ? 4 : 0)
                guard offset - block.offset >= head else { throw file.damaged("fractal heap object inside a block header") }
                let sig = try file.read(at: block.address, count: 5)
                guard sig.starts(with: Array("FHDB".utf8)), sig[4] == 0 else { throw file.damaged("fractal heap direct block at \(block.address) without its signature") }
                return try file.read(at: block.address + UInt64(offset - block.offset), count: length)
            case 2:
                let length = Int(id[0] & 0x0F) + 1
                guard id.count >= 1 + length else { throw file.damaged("tiny fractal heap object of \(length) bytes in a \(id.count)-byte id") }
                return Array(id[1..<(1 + length)])
            default:
                throw GantryError.unsupported(path: file.path, problem: "a huge fractal heap object (a link or attribute message over the heap's managed size)")
            }
        }
    }
}
