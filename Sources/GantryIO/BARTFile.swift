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
