import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Plain file access with Gantry's error messages: reading whole files, and atomic writes
/// (temporary name in the same folder, then `rename`), so a failure never leaves a half-written
/// output and never touches an existing file of the same name until the new one is complete.
public enum FileIO {
    /// Checks that `path` is an existing regular file (not a directory).
    public static func requireFile(_ path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw GantryError.fileNotFound(path: path) }
        if isDir.boolValue { throw GantryError.notAFile(path: path) }
    }

    /// The whole file as bytes.
    public static func readAll(_ path: String) throws -> [UInt8] {
        try readAll(path, as: UInt8.self).storage
    }

    /// The whole file — or its bytes from `start` on, at most `limit` of them — in storage of `T`
    /// elements (the last one partly filled when the size is not a multiple), so typed data can be
    /// used where it landed. Storage is not zero-filled first. `fileSize` is the whole file's size.
    public static func readAll<T>(_ path: String, as: T.Type, from start: Int = 0, limit: Int = .max) throws -> (storage: [T], bytes: Int, fileSize: Int) {
        try requireFile(path)
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw GantryError.invalidFile(path: path, problem: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw GantryError.invalidFile(path: path, problem: "cannot stat") }
        let fileSize = Int(st.st_size), size = min(limit, max(0, fileSize - start))
        let elements = (size + MemoryLayout<T>.stride - 1) / MemoryLayout<T>.stride
        var failure: Int32 = 0
        var done = 0
        let storage = [T](unsafeUninitializedCapacity: elements) { buf, count in
            let raw = UnsafeMutableRawPointer(buf.baseAddress!)
            MemoryPolicy.adviseHugePages(raw, bytes: elements * MemoryLayout<T>.stride)
            if elements > 0 { memset(raw + (elements - 1) * MemoryLayout<T>.stride, 0, MemoryLayout<T>.stride) }
            while done < size {
                let n = pread(fd, raw + done, size - done, off_t(start + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if n == 0 { break }
                done += n
            }
            count = elements
        }
        if failure != 0 { throw GantryError.invalidFile(path: path, problem: "read failed: \(String(cString: strerror(failure)))") }
        return (storage, done, fileSize)
    }

    /// Writes the concatenation of `parts` to `path` atomically (see `withAtomicPath`).
    public static func writeAtomically(_ path: String, parts: [UnsafeRawBufferPointer]) throws {
        try withAtomicPath(path) { tmp in
            let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
            guard fd >= 0 else { throw GantryError.writeFailed(path: path, problem: String(cString: strerror(errno))) }
            defer { close(fd) }
            for part in parts {
                var done = 0
                while done < part.count {
                    let n = write(fd, part.baseAddress! + done, part.count - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw GantryError.writeFailed(path: path, problem: String(cString: strerror(errno)))
                    }
                    done += n
                }
            }
        }
    }

    /// Atomic write of one byte array.
    public static func writeAtomically(_ path: String, bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try writeAtomically(path, parts: [$0]) }
    }

    /// Moves `source` to `path` in one rename (same file system), replacing what was there.
    public static func replaceItem(at path: String, with source: String) throws {
        guard rename(source, path) == 0 else { throw GantryError.writeFailed(path: path, problem: String(cString: strerror(errno))) }
    }

    /// Atomic write of a string (UTF-8).
    public static func writeAtomically(_ path: String, text: String) throws {
        try writeAtomically(path, bytes: Array(text.utf8))
    }

    /// Gantry's JSON files, one format everywhere: pretty-printed with sorted keys, so the same
    /// content gives the same bytes (caches and output hashes compare them).
    public static func jsonBytes(_ object: Any) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]))
    }

    public static func jsonBytes<T: Encodable>(encoding value: T) throws -> [UInt8] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try enc.encode(value))
    }

    /// A JSON file Gantry wrote, decoded as `type`; anything else is a one-line error naming the
    /// file as not `what`.
    public static func readJSON<T: Decodable>(_ type: T.Type, from path: String, what: String) throws -> T {
        let bytes = try readAll(path)
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw GantryError.invalidFile(path: path, problem: "not \(what)")
        }
    }

    /// Atomic write of a JSON object (`jsonBytes`).
    public static func writeJSON(_ path: String, _ object: Any) throws {
        try writeAtomically(path, bytes: try jsonBytes(object))
    }

    /// Writes several files as one: `body` gets a temporary path beside each of `paths` (in order)
    /// and every one is renamed into place only when `body` returns — a command that fails late
    /// (a mask written, its probabilities not) leaves none of them.
    public static func withAtomicPaths<T>(_ paths: [String], _ body: ([String]) throws -> T) throws -> T {
        var temporaries: [String] = []
        defer { for t in temporaries { unlink(t) } }
        for p in paths {
            let dir = try checkedFolder(of: p)
            let name = URL(fileURLWithPath: p).lastPathComponent
            // The name ends as the final one does, for writers that choose a format by extension.
            temporaries.append(dir + "/.tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-" + name)
        }
        let r = try body(temporaries)
        for (t, p) in zip(temporaries, paths) where FileManager.default.fileExists(atPath: t) {
            guard rename(t, p) == 0 else { throw GantryError.writeFailed(path: p, problem: String(cString: strerror(errno))) }
        }
        return r
    }

    /// Fills a folder as one: `body` writes into a fresh temporary folder beside `folder`; when it
    /// returns, its files are renamed into `folder` (created if needed; other files there are
    /// left alone). On error nothing reaches `folder` and the temporary folder is removed.
    public static func withAtomicFolder<T>(_ folder: String, _ body: (String) throws -> T) throws -> T {
        let fm = FileManager.default
        let parent = try checkedFolder(of: folder)
        let tmp = parent + "/." + URL(fileURLWithPath: folder).lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try fm.createDirectory(atPath: tmp, withIntermediateDirectories: false)
        defer { try? fm.removeItem(atPath: tmp) }
        let r = try body(tmp)
        var isDir: ObjCBool = false
        if !fm.fileExists(atPath: folder, isDirectory: &isDir) {
            guard rename(tmp, folder) == 0 else { throw GantryError.writeFailed(path: folder, problem: String(cString: strerror(errno))) }
            return r
        }
        guard isDir.boolValue else { throw GantryError.writeFailed(path: folder, problem: "exists and is not a folder") }
        for name in try fm.contentsOfDirectory(atPath: tmp).sorted() {
            guard rename(tmp + "/" + name, folder + "/" + name) == 0 else {
                throw GantryError.writeFailed(path: folder + "/" + name, problem: String(cString: strerror(errno)))
            }
        }
        return r
    }

    /// The folder `path` goes into, which must exist.
    static func checkedFolder(of path: String) throws -> String {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.isEmpty ? "." : dir, isDirectory: &isDir), isDir.boolValue else {
            throw GantryError.writeFailed(path: path, problem: "folder \(dir) does not exist")
        }
        return dir.isEmpty ? "." : dir
    }

    /// Runs `body` with a temporary path beside `path`, then renames it into place; for writers that
    /// must open the file themselves (HDF5, libpng). On error the temporary file is removed.
    public static func withAtomicPath<T>(_ path: String, _ body: (String) throws -> T) throws -> T {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw GantryError.notAFile(path: path)
        }
        guard FileManager.default.fileExists(atPath: dir.isEmpty ? "." : dir, isDirectory: &isDir), isDir.boolValue else {
            throw GantryError.writeFailed(path: path, problem: "folder \(dir) does not exist")
        }
        let tmp = (dir.isEmpty ? "." : dir) + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            let r = try body(tmp)
            guard rename(tmp, path) == 0 else { throw GantryError.writeFailed(path: path, problem: String(cString: strerror(errno))) }
            return r
        } catch {
            unlink(tmp)
            throw error
        }
    }
}
