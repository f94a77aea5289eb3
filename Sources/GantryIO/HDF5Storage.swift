import CDeflate
import Foundation
import GantryCore

/// Where a dataset's elements lie in the file and how they are encoded — the data layout, filter
/// pipeline and fill value messages (file format specification) — and reading them into one
/// buffer in C order. Layouts: compact, contiguous, and chunked with any of HDF5's chunk indexes
/// (`HDF5ChunkIndexes`). Filters: deflate, shuffle, Fletcher-32; others (szip, n-bit,
/// scale-offset, plug-ins) are refused by name.
///
/// Every address, size and chunk position is checked against the file and the dataset before it
/// is used, and the bytes a dataset declares are checked against what the file stores for it
/// before the output is allocated.
struct HDF5Storage {
    enum Layout {
        case compact([UInt8])
        /// `address` nil: never written (the fill value throughout).
        case contiguous(address: UInt64?, size: UInt64)
        /// `chunk`: chunk dimensions (the dataset's rank).
        case chunked(chunk: [Int], index: ChunkIndex)
    }

    enum ChunkIndex {
        case btree1(UInt64)
        case single(address: UInt64, filteredSize: UInt64?, filterMask: UInt32)
        case implicit(UInt64)
        case fixedArray(UInt64)
        /// One unlimited dimension: `unlimitedAxis`'s chunk coordinate is the slowest of the
        /// array's linear index.
        case extensibleArray(UInt64, unlimitedAxis: Int)
        case btree2(UInt64)
    }

    struct Filter { var id: Int; var values: [UInt32] }

    /// One stored chunk: its position (element offsets), address, stored size and filter mask.
    struct Chunk { var offsets: [Int]; var address: UInt64; var size: UInt64; var filterMask: UInt32 }

    let layout: Layout
    let filters: [Filter]
    /// One element's fill value; nil for zeros (the default).
    let fill: [UInt8]?

    /// Decodes the storage messages of a dataset of `dimensions` whose elements are `elementSize` bytes.
    init(messages: [HDF5Structure.Message], dimensions: [Int], elementSize: Int, file: HDF5Structure) throws {
        guard let layoutMessage = messages.first(where: { $0.type == 0x08 })?.body, layoutMessage.count >= 2 else {
            throw file.damaged("dataset without a layout message")
        }
        filters = try messages.first(where: { $0.type == 0x0B }).map { try Self.filters($0.body, file: file) } ?? []
        fill = Self.fill(messages, elementSize: elementSize)
        // The dataspace's unlimited dimensions (an extensible array orders chunks by one of them).
        let space = messages.first(where: { $0.type == 0x01 }).flatMap { try? HDF5Dataspace.decode($0.body, at: 0, end: $0.body.count, lengthSize: file.lengthSize) }
        layout = try Self.layout(layoutMessage, rank: dimensions.count, elementSize: elementSize, unlimitedAxes: space?.unlimitedAxes ?? [], file: file)
    }

    private static func layout(_ b: [UInt8], rank: Int, elementSize: Int, unlimitedAxes: [Int], file: HDF5Structure) throws -> Layout {
        let version = b[0], layoutClass = b[1]
        let o = file.offsetSize, l = file.lengthSize
        func need(_ n: Int) throws { guard b.count >= n else { throw file.damaged("layout message of \(b.count) bytes") } }
        // Version 5 (HDF5 2.0, filtered chunks) has version 4's fields; the index entries say their
        // own widths.
        guard (3...5).contains(version) else {
            throw GantryError.unsupported(path: file.path, problem: "HDF5 data layout message version \(version) (files from libhdf5 before 1.6); rewrite it with h5repack")
        }
        switch layoutClass {
        case 0:
            try need(4)
            let size = Int(HDF5Structure.unsigned(b, at: 2, size: 2))
            try need(4 + size)
            return .compact(Array(b[4..<(4 + size)]))
        case 1:
            try need(2 + o + l)
            let address = HDF5Structure.unsigned(b, at: 2, size: o)
            return .contiguous(address: file.isUndefined(address, size: o) ? nil : address, size: HDF5Structure.unsigned(b, at: 2 + o, size: l))
        case 2:
            if version == 3 {
                try need(3 + o)
                let dimensionality = Int(b[2])
                try need(3 + o + 4 * dimensionality)
                guard dimensionality == rank + 1 else { throw file.damaged("chunk rank \(dimensionality - 1) for a dataset of rank \(rank)") }
                let dims = (0..<dimensionality).map { Int(HDF5Structure.unsigned(b, at: 3 + o + 4 * $0, size: 4)) }
                return .chunked(chunk: try chunkDimensions(dims, elementSize: elementSize, file: file),
                                index: .btree1(HDF5Structure.unsigned(b, at: 3, size: o)))
            }
            try need(5)
            let flags = b[2], dimensionality = Int(b[3]), width = Int(b[4])
            guard (1...8).contains(width), dimensionality == rank + 1 else { throw file.damaged("chunked layout of rank \(dimensionality - 1), \(width)-byte sizes") }
            var p = 5 + dimensionality * width
            try need(p + 1)
            let dims = (0..<dimensionality).map { Int(clamping: HDF5Structure.unsigned(b, at: 5 + $0 * width, size: width)) }
            let chunk = try chunkDimensions(dims, elementSize: elementSize, file: file)
            let indexType = b[p]; p += 1
            switch indexType {
            case 1:
                var filtered: UInt64?, mask: UInt32 = 0
                if flags & 0x02 != 0 {
                    try need(p + l + 4)
                    filtered = HDF5Structure.unsigned(b, at: p, size: l)
                    mask = UInt32(HDF5Structure.unsigned(b, at: p + l, size: 4)); p += l + 4
                }
                try need(p + o)
                return .chunked(chunk: chunk, index: .single(address: HDF5Structure.unsigned(b, at: p, size: o), filteredSize: filtered, filterMask: mask))
            case 2:
                try need(p + o)
                return .chunked(chunk: chunk, index: .implicit(HDF5Structure.unsigned(b, at: p, size: o)))
            case 3:
                try need(p + 1 + o)
                return .chunked(chunk: chunk, index: .fixedArray(HDF5Structure.unsigned(b, at: p + 1, size: o)))
            case 4:
                try need(p + 5 + o)
                guard let axis = unlimitedAxes.first, unlimitedAxes.count == 1 else {
                    throw file.damaged("an extensible array index for a dataset with \(unlimitedAxes.count) unlimited dimensions")
                }
                return .chunked(chunk: chunk, index: .extensibleArray(HDF5Structure.unsigned(b, at: p + 5, size: o), unlimitedAxis: axis))
            case 5:
                try need(p + 6 + o)
                return .chunked(chunk: chunk, index: .btree2(HDF5Structure.unsigned(b, at: p + 6, size: o)))
            default:
                throw file.damaged("chunk index type \(indexType)")
            }
        default:
            throw GantryError.unsupported(path: file.path, problem: "HDF5 data layout class \(layoutClass) (virtual datasets are not read)")
        }
    }

    /// The chunk's dimensions without the trailing element size, which must agree with the type.
    private static func chunkDimensions(_ dims: [Int], elementSize: Int, file: HDF5Structure) throws -> [Int] {
        let chunk = Array(dims.dropLast())
        guard dims.last == elementSize, chunk.allSatisfy({ $0 >= 1 }),
              chunk.reduce(elementSize, { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }) <= 1 << 32 else {
            throw file.damaged("chunk dimensions \(dims) for \(elementSize)-byte elements")
        }
        return chunk
    }

    private static func filters(_ b: [UInt8], file: HDF5Structure) throws -> [Filter] {
        guard b.count >= 2, b[0] == 1 || b[0] == 2, b[1] <= 32 else { throw file.damaged("filter pipeline message") }
        let version = b[0]
        var p = version == 1 ? 8 : 2
        var out: [Filter] = []
        func need(_ n: Int) throws { guard n >= 0, p + n <= b.count else { throw file.damaged("filter pipeline message overruns itself") } }
        for _ in 0..<Int(b[1]) {
            try need(2)
            let id = Int(HDF5Structure.unsigned(b, at: p, size: 2)); p += 2
            var nameLength = 0
            if version == 1 || id >= 256 { try need(2); nameLength = Int(HDF5Structure.unsigned(b, at: p, size: 2)); p += 2 }
            try need(4)
            let count = Int(HDF5Structure.unsigned(b, at: p + 2, size: 2)); p += 4
            let nameBytes = version == 1 ? (nameLength + 7) & ~7 : nameLength
            try need(nameBytes); p += nameBytes
            try need(4 * count)
            let values = (0..<count).map { UInt32(HDF5Structure.unsigned(b, at: p + 4 * $0, size: 4)) }
            p += 4 * count
            if version == 1 && count % 2 == 1 { try need(4); p += 4 }
            guard [1, 2, 3].contains(id) else {
                let known = [4: "szip", 5: "n-bit", 6: "scale-offset", 32000: "LZF", 32001: "Blosc", 32004: "LZ4", 32008: "bitshuffle", 32015: "Zstandard"]
                throw GantryError.unsupported(path: file.path, problem: "HDF5 filter \(known[id] ?? "\(id)") (Gantry decodes deflate, shuffle and Fletcher-32); rewrite it with h5repack -f GZIP=1")
            }
            out.append(Filter(id: id, values: values))
        }
        return out
    }

    /// The fill value message (new, type 5; old, type 4) when it states one of the element's size.
    private static func fill(_ messages: [HDF5Structure.Message], elementSize: Int) -> [UInt8]? {
        let zeros: [UInt8]? = nil
        if let b = messages.first(where: { $0.type == 0x05 })?.body, b.count >= 2 {
            var at: Int?
            switch b[0] {
            case 1: at = b.count >= 8 ? 4 : nil
            case 2: at = b.count >= 8 && b[3] == 1 ? 4 : nil
            case 3: at = b[1] & 0x20 != 0 ? 2 : nil
            default: break
            }
            if let at, b.count >= at + 4, Int(HDF5Structure.unsigned(b, at: at, size: 4)) == elementSize, b.count >= at + 4 + elementSize {
                return Array(b[(at + 4)..<(at + 4 + elementSize)])
            }
            return zeros
        }
        if let b = messages.first(where: { $0.type == 0x04 })?.body, b.count >= 4 + elementSize,
           Int(HDF5Structure.unsigned(b, at: 0, size: 4)) == elementSize {
            return Array(b[4..<(4 + elementSize)])
        }
        return zeros
    }

    // MARK: Reading

    /// The bytes the file stores for the dataset (compressed chunks counted as stored).
    /// Every stored extent must lie inside the file: a stated size is never taken on trust.
    func storedBytes(dimensions: [Int], elementSize: Int, file: HDF5Structure) throws -> UInt64 {
        func inside(_ address: UInt64, _ size: UInt64) throws -> UInt64 {
            let (end, overflow) = address.addingReportingOverflow(size)
            guard !overflow, end <= file.fileSize else { throw file.damaged("data of \(size) bytes at \(address) beyond the end of the \(file.fileSize)-byte file") }
            return size
        }
        switch layout {
        case .compact(let b): return UInt64(b.count)
        case .contiguous(let address, let size): return try address.map { try inside($0, size) } ?? 0
        case .chunked(let chunk, _):
            return try chunks(dimensions: dimensions, chunk: chunk, elementSize: elementSize, file: file).reduce(0) { $0 + (try inside($1.address, $1.size)) }
        }
    }

    /// Reads every element, C order, into `out` (`count × elementSize` bytes); elements the file
    /// never wrote get the fill value.
    func read(into out: UnsafeMutableRawBufferPointer, dimensions: [Int], elementSize: Int, file: HDF5Structure) throws {
        let count = dimensions.reduce(1, *)
        precondition(out.count == count * elementSize)
        // No element, or elements of no bytes: nothing to read (and no buffer to place chunks in).
        guard out.count > 0 else { return }
        switch layout {
        case .compact(let b):
            guard b.count >= out.count else { throw file.damaged("compact data of \(b.count) bytes for \(out.count)") }
            b.withUnsafeBytes { out.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<out.count])) }
        case .contiguous(let address, let size):
            guard let address else { return fillAll(out, elementSize: elementSize) }
            guard size >= UInt64(out.count) else { throw file.damaged("contiguous data of \(size) bytes for \(out.count)") }
            try file.read(at: address, into: out)
        case .chunked(let chunk, _):
            let chunks = try chunks(dimensions: dimensions, chunk: chunk, elementSize: elementSize, file: file)
            let chunkBytes = chunk.reduce(elementSize, *)
            let grid = zip(dimensions, chunk).map { ($0 + $1 - 1) / $1 }
            if chunks.count < grid.reduce(1, *) { fillAll(out, elementSize: elementSize) }
            // A chunk's buffer is allocated only when its stored bytes could fill it (DEFLATE's
            // 1032:1 at most): chunk dimensions may exceed a dataset's, and are the file's word.
            for c in chunks where UInt64(chunkBytes) > 1032 * c.size + (1 << 20) {
                throw file.damaged("a chunk of \(chunkBytes) bytes stored in \(c.size)")
            }
            // Chunks decode on all cores: each lands in its own part of `out` (`chunks` checked
            // them aligned and distinct), and reading the file has no shared state.
            let failure = LockedValue<Error?>(nil)
            Parallel.forEach(chunks.count, work: chunks.count * chunkBytes) { i in
                var buffer = [UInt8](repeating: 0, count: chunkBytes)
                do {
                    try decode(chunks[i], into: &buffer, file: file)
                    buffer.withUnsafeBytes { place(chunk: $0, at: chunks[i].offsets, chunkDimensions: chunk, into: out, dimensions: dimensions, elementSize: elementSize) }
                } catch {
                    failure.value = failure.value ?? error
                }
            }
            if let error = failure.value { throw error }
        }
    }

    private func fillAll(_ out: UnsafeMutableRawBufferPointer, elementSize: Int) {
        guard let fill, fill.contains(where: { $0 != 0 }) else { out.initializeMemory(as: UInt8.self, repeating: 0); return }
        for i in 0..<(out.count / elementSize) {
            for j in 0..<elementSize { out[i * elementSize + j] = fill[j] }
        }
    }

    /// A chunk's stored bytes with the filters undone (in reverse order, skipping those its mask
    /// marks as not applied), exactly `buffer.count` bytes.
    private func decode(_ c: Chunk, into buffer: inout [UInt8], file: HDF5Structure) throws {
        let active = filters.enumerated().filter { c.filterMask & (1 << UInt32($0.offset)) == 0 }.map(\.element)
        guard c.size <= 1032 * UInt64(buffer.count) + (1 << 20) else { throw file.damaged("a chunk stored in \(c.size) bytes for \(buffer.count)") }
        if active.isEmpty {
            guard c.size >= UInt64(buffer.count) else { throw file.damaged("a chunk of \(c.size) bytes for \(buffer.count)") }
            try buffer.withUnsafeMutableBytes { try file.read(at: c.address, into: $0) }
            return
        }
        var bytes = try file.read(at: c.address, count: Int(c.size))
        for f in active.reversed() {
            switch f.id {
            case 1: bytes = try inflate(bytes, size: buffer.count, file: file)
            case 2: bytes = unshuffle(bytes, elementSize: f.values.first.map(Int.init) ?? 1)
            default: bytes = try fletcher32Checked(bytes, file: file)
            }
        }
        guard bytes.count == buffer.count else { throw file.damaged("a chunk decodes to \(bytes.count) bytes, not \(buffer.count)") }
        buffer = bytes
    }

    private func inflate(_ input: [UInt8], size: Int, file: HDF5Structure) throws -> [UInt8] {
        guard let d = libdeflate_alloc_decompressor() else { throw GantryError.invalidFile(path: file.path, problem: "out of memory") }
        defer { libdeflate_free_decompressor(d) }
        var out = [UInt8](repeating: 0, count: size)
        var produced = 0
        let r = input.withUnsafeBytes { i in out.withUnsafeMutableBytes { o in
            libdeflate_zlib_decompress(d, i.baseAddress, i.count, o.baseAddress, o.count, &produced)
        } }
        guard r == LIBDEFLATE_SUCCESS, produced == size else { throw file.damaged("a deflated chunk that does not inflate to its \(size) bytes") }
        return out
    }

    /// Shuffle stores byte 0 of every element, then byte 1, …; a trailing remainder is unshuffled.
    private func unshuffle(_ b: [UInt8], elementSize: Int) -> [UInt8] {
        guard elementSize > 1, b.count >= elementSize else { return b }
        let n = b.count / elementSize
        var out = b
        for k in 0..<elementSize {
            for i in 0..<n { out[i * elementSize + k] = b[k * n + i] }
        }
        return out
    }

    /// Fletcher-32 as libhdf5 computes it (16-bit big-endian words, an odd last byte as the high
    /// byte), stored after the data; older libhdf5 stored it byte-swapped, which is accepted too.
    private func fletcher32Checked(_ b: [UInt8], file: HDF5Structure) throws -> [UInt8] {
        guard b.count >= 4 else { throw file.damaged("a Fletcher-32 chunk of \(b.count) bytes") }
        let data = b.dropLast(4)
        var sum1: UInt32 = 0, sum2: UInt32 = 0
        var i = data.startIndex
        while i + 1 < data.endIndex {
            sum1 = (sum1 + (UInt32(data[i]) << 8 | UInt32(data[i + 1]))) % 65535
            sum2 = (sum2 + sum1) % 65535
            i += 2
        }
        if i < data.endIndex { sum1 = (sum1 + (UInt32(data[i]) << 8)) % 65535; sum2 = (sum2 + sum1) % 65535 }
        let sum = sum2 << 16 | sum1
        let stored = UInt32(HDF5Structure.unsigned(Array(b.suffix(4)), at: 0, size: 4))
        guard stored == sum || stored == sum.byteSwapped else { throw file.damaged("a chunk whose Fletcher-32 checksum does not match") }
        return Array(data)
    }

    /// Copies a decoded chunk to its place, clipped to the dataset (edge chunks overhang it).
    private func place(chunk: UnsafeRawBufferPointer, at offsets: [Int], chunkDimensions c: [Int], into out: UnsafeMutableRawBufferPointer, dimensions n: [Int], elementSize e: Int) {
        let rank = n.count
        guard rank > 0 else { out.copyMemory(from: UnsafeRawBufferPointer(rebasing: chunk[0..<e])); return }
        let extent = (0..<rank).map { min(c[$0], n[$0] - offsets[$0]) }
        let run = extent[rank - 1] * e
        var index = [Int](repeating: 0, count: rank)   // position inside the chunk, last axis fixed at 0
        while true {
            var src = 0, dst = 0
            for d in 0..<rank { src = src * c[d] + index[d]; dst = dst * n[d] + offsets[d] + index[d] }
            (out.baseAddress! + dst * e).copyMemory(from: chunk.baseAddress! + src * e, byteCount: run)
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                if index[d] < extent[d] { break }
                index[d] = 0; d -= 1
            }
            if d < 0 { return }
        }
    }
}
