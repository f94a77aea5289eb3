import CDeflate
import CZlib
import Dispatch
import Foundation
import GantryCore

/// gzip (RFC 1952) on libdeflate, with a parallel path.
///
/// Writing splits the data into chunks compressed on all cores, each a complete gzip *member*;
/// concatenated members are one standard gzip stream that zlib, Python's gzip, nibabel and ITK read.
/// Each member's header carries an extra subfield `GY` (as BGZF's `BC`) with its compressed length, so
/// Gantry can find every member without inflating and decompress them in parallel too. Streams
/// from other writers (a single member, no `GY`) are decompressed serially by libdeflate, which is
/// still about twice as fast as zlib.
public enum Gzip {
    /// Uncompressed bytes per member when writing (trade-off: parallelism vs ratio).
    public static let memberSize = 4 << 20

    /// Whether `bytes` starts with the gzip magic.
    public static func isGzip(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// Compresses `input` at `level` (0–12, libdeflate's scale; 1 ≈ zlib's 1, 6 the usual default).
    public static func compress(_ input: UnsafeRawBufferPointer, level: Int = 1) throws -> [UInt8] {
        try compress(parts: [input], level: level)
    }

    /// Compresses the concatenation of `parts` without joining them first (members never span parts).
    public static func compress(parts: [UnsafeRawBufferPointer], level: Int = 1) throws -> [UInt8] {
        let lvl = Int32(min(max(level, 0), 12))
        // (part, lo, hi) for every member.
        var jobs: [(Int, Int, Int)] = []
        for (p, part) in parts.enumerated() {
            var lo = 0
            repeat {
                let hi = min(part.count, lo + memberSize)
                jobs.append((p, lo, hi))
                lo = hi
            } while lo < part.count
        }
        var pieces = [[UInt8]](repeating: [], count: jobs.count)
        var failed = false
        pieces.withUnsafeMutableBufferPointer { out in
            let outp = out.baseAddress!
            Parallel.forEach(jobs.count) { m in
                guard let c = libdeflate_alloc_compressor(lvl) else { failed = true; return }
                defer { libdeflate_free_compressor(c) }
                let (p, lo, hi) = jobs[m]
                let input = parts[p]
                let bound = libdeflate_deflate_compress_bound(c, hi - lo)
                // Header: 10 fixed bytes + XLEN(2) + subfield 'G','Y', LEN=4, u32 member length.
                let headerSize = 10 + 2 + 4 + 4
                var buf = [UInt8](repeating: 0, count: headerSize + bound + 8)
                let written = buf.withUnsafeMutableBytes { b -> Int in
                    libdeflate_deflate_compress(c, input.baseAddress.map { $0 + lo }, hi - lo, b.baseAddress! + headerSize, bound)
                }
                if written == 0 && hi > lo { failed = true; return }
                let total = headerSize + written + 8
                buf.removeLast(buf.count - total)
                let hdr: [UInt8] = [0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 255, 8, 0, 0x47, 0x59, 4, 0]
                for (i, v) in hdr.enumerated() { buf[i] = v }
                put32(&buf, 16, UInt32(total))
                let crc = libdeflate_crc32(0, input.baseAddress.map { UnsafeRawPointer($0 + lo) }, hi - lo)
                put32(&buf, total - 8, crc)
                put32(&buf, total - 4, UInt32(truncatingIfNeeded: hi - lo))
                outp[m] = buf
            }
        }
        if failed { throw GantryError.invalidArgument("gzip compression failed") }
        if pieces.count == 1 { return pieces[0] }
        let total = pieces.reduce(0) { $0 + $1.count }
        return [UInt8](unsafeUninitializedCapacity: total) { buf, count in
            var at = 0
            for piece in pieces {
                piece.withUnsafeBufferPointer { (buf.baseAddress! + at).update(from: $0.baseAddress!, count: piece.count) }
                at += piece.count
            }
            count = total
        }
    }

    /// Decompresses a whole gzip stream (one or more members). `path` only names the file in errors.
    /// `expectedSize`, when known, sizes the output buffer up front.
    public static func decompress(_ input: UnsafeRawBufferPointer, path: String) throws -> [UInt8] {
        let (storage, n) = try decompress(input, path: path, as: UInt8.self)
        return n == storage.count ? storage : Array(storage.prefix(n))
    }

    /// Decompresses into storage of `T` elements (see `FileIO.readAll(_:as:)`): returns it and the
    /// number of bytes it holds.
    ///
    /// `expectedSize`, when the caller knows it (a NIfTI header read by `prefix` declares vox_offset
    /// plus the voxel bytes), bounds the output: a stream whose members or trailer say more is
    /// refused before anything is allocated, and a damaged or truncated stream never grows a buffer
    /// past it. Without it, output is bounded by DEFLATE's maximum ratio (1032:1).
    public static func decompress<T>(_ input: UnsafeRawBufferPointer, path: String, as: T.Type, expectedSize: Int? = nil) throws -> (storage: [T], bytes: Int) {
        if let expectedSize, expectedSize > maxRatio * input.count + (1 << 16) {
            throw GantryError.invalidFile(path: path, problem: "truncated: the header declares \(expectedSize) bytes, more than \(input.count) compressed bytes can hold")
        }
        if let members = gantryMembers(input) {
            let total = members.reduce(0) { $0 + $1.size }
            if let expectedSize, total < expectedSize {
                throw GantryError.invalidFile(path: path, problem: "truncated: the gzip members hold \(total) bytes, the header declares \(expectedSize)")
            }
            return try decompressParallel(input, members: members, path: path, as: T.self)
        }
        return try decompressSerial(input, path: path, as: T.self, expectedSize: expectedSize)
    }

    /// DEFLATE's largest possible expansion (258 bytes from 2 bits, rounded up as zlib documents).
    public static let maxRatio = 1032

    /// The first `count` bytes of a gzip stream (fewer when the stream is shorter or damaged before
    /// them), inflated incrementally so nothing past them is touched: enough to read a header and
    /// learn the size of the rest before decompressing it.
    public static func prefix(_ input: UnsafeRawBufferPointer, count: Int) -> [UInt8] {
        guard let base = input.baseAddress, input.count > 0, count > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: count)
        var stream = z_stream()
        guard gantry_inflate_init_gzip(&stream) == Z_OK else { return [] }
        defer { inflateEnd(&stream) }
        var produced = 0
        out.withUnsafeMutableBytes { o in
            stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(min(input.count, Int(UInt32.max)))
            stream.next_out = o.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(count)
            while stream.avail_out > 0 {
                let r = inflate(&stream, Z_NO_FLUSH)
                if r != Z_OK { break }
            }
            produced = count - Int(stream.avail_out)
        }
        return Array(out.prefix(produced))
    }

    /// Uninitialised storage for at least `bytes` bytes.
    static func storage<T>(bytes: Int, as: T.Type) -> [T] {
        let n = (bytes + MemoryLayout<T>.stride - 1) / MemoryLayout<T>.stride
        return [T](unsafeUninitializedCapacity: n) { buf, count in
            if let base = buf.baseAddress { MemoryPolicy.adviseHugePages(UnsafeMutableRawPointer(base), bytes: n * MemoryLayout<T>.stride) }
            count = n
        }
    }

    /// The serial, any-writer path (for tests that check our streams are standard gzip).
    static func decompressSerialForTesting(_ input: UnsafeRawBufferPointer) throws -> [UInt8] {
        let (s, n) = try decompressSerial(input, path: "memory", as: UInt8.self, expectedSize: nil)
        return Array(s.prefix(n))
    }

    // MARK: - Internals

    private static func put32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) {
        b[at] = UInt8(v & 0xff); b[at + 1] = UInt8((v >> 8) & 0xff)
        b[at + 2] = UInt8((v >> 16) & 0xff); b[at + 3] = UInt8(v >> 24)
    }

    private static func get32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }

    /// Members of a stream written by `compress` (each with a `GY` subfield), or nil for other streams.
    private static func gantryMembers(_ b: UnsafeRawBufferPointer) -> [(start: Int, length: Int, size: Int)]? {
        var out: [(Int, Int, Int)] = []
        var pos = 0
        while pos < b.count {
            guard pos + 20 <= b.count, b[pos] == 0x1f, b[pos + 1] == 0x8b, b[pos + 2] == 8, b[pos + 3] == 4,
                  b[pos + 10] == 8, b[pos + 11] == 0, b[pos + 12] == 0x47, b[pos + 13] == 0x59,
                  b[pos + 14] == 4, b[pos + 15] == 0 else { return nil }
            let len = Int(get32(b, pos + 16))
            guard len >= 28, pos + len <= b.count else { return nil }
            out.append((pos, len, Int(get32(b, pos + len - 4))))
            pos += len
        }
        return out.isEmpty ? nil : out
    }

    private static func decompressParallel<T>(_ b: UnsafeRawBufferPointer, members: [(start: Int, length: Int, size: Int)], path: String, as: T.Type) throws -> (storage: [T], bytes: Int) {
        var offsets = [Int](), total = 0
        for m in members { offsets.append(total); total += m.size }
        var out = storage(bytes: total, as: T.self)
        var bad = false
        out.withUnsafeMutableBytes { o in
            let op = o.baseAddress!
            Parallel.forEach(members.count) { i in
                let m = members[i]
                guard let d = libdeflate_alloc_decompressor() else { bad = true; return }
                defer { libdeflate_free_decompressor(d) }
                var actual = 0
                let r = libdeflate_deflate_decompress(d, b.baseAddress! + m.start + 20, m.length - 28, op + offsets[i], m.size, &actual)
                let crc = libdeflate_crc32(0, UnsafeRawPointer(op + offsets[i]), m.size)
                if r != LIBDEFLATE_SUCCESS || actual != m.size || crc != get32(b, m.start + m.length - 8) { bad = true }
            }
        }
        if bad { throw GantryError.invalidFile(path: path, problem: "corrupt gzip data") }
        return (out, total)
    }

    private static func decompressSerial<T>(_ b: UnsafeRawBufferPointer, path: String, as: T.Type, expectedSize: Int?) throws -> (storage: [T], bytes: Int) {
        guard b.count >= 18 else { throw GantryError.invalidFile(path: path, problem: "truncated gzip stream") }
        guard let d = libdeflate_alloc_decompressor() else { throw GantryError.invalidFile(path: path, problem: "out of memory") }
        defer { libdeflate_free_decompressor(d) }
        // The last member's ISIZE is the whole size of a single-member stream. It is trusted only
        // when it agrees with what the caller expects; then the buffer is exact and its pages are
        // faulted in ahead. Otherwise (a truncated download ends in arbitrary bytes, or a stream of
        // several members) the buffer starts small, grows by doubling, never past the expected size
        // (or DEFLATE's maximum ratio), and only pages that data reach are touched.
        let trailer = Int(get32(b, b.count - 4))
        let bound = expectedSize.map { min($0 + (1 << 16), maxRatio * b.count + (1 << 16)) } ?? (maxRatio * b.count + (1 << 16))
        let trusted = expectedSize.map { UInt32(truncatingIfNeeded: $0) == UInt32(trailer) } ?? false
        var capacity = trusted ? min(expectedSize!, bound) : min(max(min(trailer, 64 * b.count), 1 << 16), bound)
        var out = storage(bytes: capacity, as: T.self)
        var inPos = 0, outPos = 0
        // Fault the output pages in on another core while this one inflates (the page faults of a
        // fresh 64 MB buffer cost a quarter of the time otherwise).
        let prefault = trusted ? out.withUnsafeMutableBytes { Prefault.start($0) } : nil
        defer { prefault?.wait() }
        while inPos < b.count {
            // Trailing zero padding after the last member is tolerated (as gzip(1) does).
            if b[inPos] == 0 && b[inPos...].allSatisfy({ $0 == 0 }) { break }
            var inUsed = 0, outUsed = 0
            let r = out.withUnsafeMutableBytes { o in
                libdeflate_gzip_decompress_ex(d, b.baseAddress! + inPos, b.count - inPos, o.baseAddress! + outPos, capacity - outPos, &inUsed, &outUsed)
            }
            switch r {
            case LIBDEFLATE_SUCCESS:
                inPos += inUsed; outPos += outUsed
            case LIBDEFLATE_INSUFFICIENT_SPACE:
                guard capacity < bound else {
                    throw GantryError.invalidFile(path: path, problem: expectedSize.map { "corrupt gzip data: it inflates to more than the \($0) bytes the header declares" } ?? "corrupt or truncated gzip data")
                }
                capacity = min(capacity * 2, bound)
                var bigger = storage(bytes: capacity, as: T.self)
                bigger.withUnsafeMutableBytes { nb in out.withUnsafeBytes { ob in nb.baseAddress!.copyMemory(from: ob.baseAddress!, byteCount: outPos) } }
                out = bigger
            default:
                throw GantryError.invalidFile(path: path, problem: "corrupt or truncated gzip data")
            }
        }
        return (out, outPos)
    }
}

/// Populates the page tables of a fresh buffer from a background thread with
/// `madvise(MADV_POPULATE_WRITE)` (Linux ≥ 5.14), which never changes the contents, so it can race
/// safely with the thread writing the data. A no-op elsewhere or for small buffers.
final class Prefault: @unchecked Sendable {
    private let group = DispatchGroup()

    static func start(_ buffer: UnsafeMutableRawBufferPointer) -> Prefault? {
        #if os(Linux)
        guard buffer.count >= 8 << 20, Parallel.threads > 1, let base = buffer.baseAddress else { return nil }
        let page = 4096
        let start = (Int(bitPattern: base) + page - 1) / page * page
        let end = (Int(bitPattern: base) + buffer.count) / page * page
        guard end > start else { return nil }
        let f = Prefault()
        let length = end - start
        f.group.enter()
        DispatchQueue.global().async {
            if let p = UnsafeMutableRawPointer(bitPattern: start) { _ = madvise(p, length, 23) }  // MADV_POPULATE_WRITE
            f.group.leave()
        }
        return f
        #else
        return nil
        #endif
    }

    func wait() { group.wait() }
}
