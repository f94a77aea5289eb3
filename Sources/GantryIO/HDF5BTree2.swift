import GantryCore

/// A version-2 B-tree (file format specification, "Version 2 B-trees": header "BTHD", internal
/// nodes "BTIN", leaves "BTLF"): its records in any order, for dense links (type 5), dense
/// attributes (type 8) and chunks of datasets with more than one unlimited dimension (types 10
/// and 11). Node sizes, record counts and the widths of child pointers' counts follow libhdf5's
/// derivation from the header; every node is read inside the file and charged to the file's index
/// budget, none twice.
enum HDF5BTree2 {
    struct Record { var type: Int; var bytes: [UInt8] }

    static func records(at index: UInt64, types: Set<Int>, file: HDF5Structure) throws -> [Record] {
        let o = file.offsetSize, l = file.lengthSize
        let h = try file.read(at: index, count: 16 + o + 2 + l + 4)
        guard h.starts(with: Array("BTHD".utf8)), h[4] == 0 else { throw file.damaged("version-2 B-tree header at \(index) without its signature") }
        let type = Int(h[5]), nodeSize = Int(HDF5Structure.unsigned(h, at: 6, size: 4)), recordSize = Int(HDF5Structure.unsigned(h, at: 10, size: 2))
        let depth = Int(HDF5Structure.unsigned(h, at: 12, size: 2))
        let root = HDF5Structure.unsigned(h, at: 16, size: o), rootRecords = Int(HDF5Structure.unsigned(h, at: 16 + o, size: 2))
        let total = HDF5Structure.unsigned(h, at: 18 + o, size: l)
        guard types.contains(type), recordSize >= 5, recordSize <= 1024, nodeSize >= 32, nodeSize <= 1 << 20,
              depth <= 16, total <= 1 << 24 else {
            throw file.damaged("version-2 B-tree of type \(type), \(nodeSize)-byte nodes, \(recordSize)-byte records, depth \(depth)")
        }
        if file.isUndefined(root, size: o) || total == 0 { return [] }
        // Per depth: the largest record count of a node and the bytes that encode the counts of a
        // child pointer (libhdf5's node_info table).
        let prefix = 10
        var maxRecords = [(nodeSize - prefix) / recordSize], cumulative = [maxRecords[0]], cumulativeBytes = [0]
        let maxRecordBytes = maxRecords[0].encodedBytes
        if depth >= 1 {
            for d in 1...depth {
                let pointer = o + maxRecordBytes + (d > 1 ? cumulativeBytes[d - 2] : 0)
                let m = (nodeSize - (prefix + pointer)) / (recordSize + pointer)
                guard m >= 1 else { throw file.damaged("version-2 B-tree nodes of \(nodeSize) bytes") }
                maxRecords.append(m)
                let (c, overflow) = (m + 1).multipliedReportingOverflow(by: cumulative[d - 1])
                cumulative.append(overflow ? Int.max / 2 : c + m)
                cumulativeBytes.append(cumulative[d].encodedBytes)
            }
        }
        var out: [Record] = []
        var visited = Set<UInt64>()
        func walk(_ address: UInt64, records n: Int, depth d: Int) throws {
            guard visited.insert(address).inserted, n <= maxRecords[d], out.count <= Int(total) else {
                throw file.damaged("version-2 B-tree node at \(address) reached twice or holding \(n) records")
            }
            try file.charge(nodeSize)
            let b = try file.read(at: address, count: nodeSize)
            guard b.starts(with: Array((d == 0 ? "BTLF" : "BTIN").utf8)), b[4] == 0, Int(b[5]) == type else {
                throw file.damaged("version-2 B-tree node at \(address) without its signature")
            }
            let pointer = o + maxRecordBytes + (d > 1 ? cumulativeBytes[d - 2] : 0)
            guard 6 + n * recordSize + (d > 0 ? (n + 1) * pointer : 0) <= nodeSize else { throw file.damaged("version-2 B-tree node overruns itself") }
            for r in 0..<n { out.append(Record(type: type, bytes: Array(b[(6 + r * recordSize)..<(6 + (r + 1) * recordSize)]))) }
            guard d > 0 else { return }
            for c in 0...n {
                let at = 6 + n * recordSize + c * pointer
                let child = HDF5Structure.unsigned(b, at: at, size: o), count = Int(HDF5Structure.unsigned(b, at: at + o, size: maxRecordBytes))
                try walk(child, records: count, depth: d - 1)
            }
        }
        try walk(root, records: rootRecords, depth: depth)
        return out
    }
}
