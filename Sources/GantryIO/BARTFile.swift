import Foundation
import GantryCore

/// BART's `.cfl`/`.hdr` file pairs: a text header with up to 16 dimensions and raw little-endian
/// complex64 data, first dimension fastest (BART: x, y, z, coils, maps, …). Gantry's `[coils, ny, nx]`
/// C-order buffers have exactly BART's `[x, y, z, coils]` memory layout.
public enum BARTFile {
    /// Reads `base.hdr` and `base.cfl` (`base` without extension).
    public static func read(_ base: String) throws -> (dims: [Int], data: [Float]) {
        let hdr = base + ".hdr", cfl = base + ".cfl"
        let text = String(decoding: try FileIO.readAll(hdr), as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let i = lines.firstIndex(where: { $0.hasPrefix("# Dimensions") }), i + 1 < lines.count else {
            throw GantryError.invalidFile(path: hdr, problem: "no '# Dimensions' line")
        }
        let dims = lines[i + 1].split(separator: " ").compactMap { Int($0) }
        guard !dims.isEmpty, dims.allSatisfy({ $0 > 0 }) else { throw GantryError.invalidFile(path: hdr, problem: "bad dimensions") }
        let n = try Volume.count(of: dims)
        let (storage, bytes, _) = try FileIO.readAll(cfl, as: Float.self)
        guard bytes == 8 * n else { throw GantryError.invalidFile(path: cfl, problem: "has \(bytes) bytes, dimensions \(dims) need \(8 * n)") }
        return (dims, storage.count == 2 * n ? storage : Array(storage.prefix(2 * n)))
    }

    /// BART's slice dimension (SLICE_DIM in its `misc/mri.h`).
    public static let sliceDimension = 13

    /// The base name (`x` for `x.cfl`, `x.hdr` or `x`).
    public static func base(_ path: String) -> String {
        path.hasSuffix(".cfl") || path.hasSuffix(".hdr") ? String(path.dropLast(4)) : path
    }

    /// k-space as BART keeps it — dims [x, y, 1, coils, …, slices at 13], x fastest — as a
    /// `KSpaceFile` [slices, coils, y, x] (the same memory). The sampling pattern is what BART's
    /// `pics` infers: positions where any coil of any slice holds a non-zero sample (no mask when all do).
    public static func readKSpace(_ path: String) throws -> KSpaceFile {
        let b = base(path)
        let (dims, data) = try read(b)
        let d = dims + Array(repeating: 1, count: max(0, 16 - dims.count))
        let others = d.indices.filter { ![0, 1, 3, sliceDimension].contains($0) && d[$0] != 1 }
        guard others.isEmpty else {
            throw GantryError.unsupported(path: b + ".hdr", problem: "dimensions \(dims): Gantry reconstructs 2D multi-coil k-space [x, y, 1, coils, …, slices]; dims \(others) are not 1")
        }
        let (nx, ny, coils, slices) = (d[0], d[1], d[3], d[sliceDimension])
        var file = try KSpaceFile(shape: [slices, coils, ny, nx], kspace: data)
        let plane = nx * ny
        var sampled = [Float](repeating: 0, count: plane)
        for v in 0..<(slices * coils) { for p in 0..<plane where data[2 * (v * plane + p)] != 0 || data[2 * (v * plane + p) + 1] != 0 { sampled[p] = 1 } }
        if sampled.contains(0) { file.mask = ([ny, nx], sampled) }
        return file
    }

    /// Magnitude images [slices][y][x] as a BART image [x, y, 1, …, slices at 13] (imaginary part 0).
    public static func writeImages(_ path: String, images: [Float], slices: Int, ny: Int, nx: Int) throws {
        var dims = Array(repeating: 1, count: 16)
        dims[0] = nx; dims[1] = ny; dims[sliceDimension] = slices
        var complex = [Float](repeating: 0, count: 2 * images.count)
        for i in images.indices { complex[2 * i] = images[i] }
        try write(base(path), dims: dims, data: complex)
    }

    /// Writes `base.hdr` and `base.cfl` atomically.
    public static func write(_ base: String, dims: [Int], data: [Float]) throws {
        guard (1...16).contains(dims.count), try 2 * Volume.count(of: dims) == data.count else {
            throw GantryError.invalidArgument("\(base): dimensions \(dims) do not match \(data.count / 2) complex values")
        }
        let all = dims + Array(repeating: 1, count: 16 - dims.count)
        try data.withUnsafeBytes { try FileIO.writeAtomically(base + ".cfl", parts: [$0]) }
        try FileIO.writeAtomically(base + ".hdr", text: "# Dimensions\n" + all.map(String.init).joined(separator: " ") + " \n")
    }
}
