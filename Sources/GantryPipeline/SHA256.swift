import CCrypto
import Foundation
import GantryCore

/// SHA-256 for content hashes of stage inputs, parameters and outputs (the cache keys and the
/// recorded output hashes), from OpenSSL's libcrypto (Debian's libssl-dev) rather than a hand-written
/// digest: the same bytes as `sha256sum`, at the library's speed.
public struct SHA256 {
    /// The digest context; a class so it is freed once, when the last copy goes.
    private final class Context {
        let ctx: OpaquePointer
        init() throws {
            guard let c = EVP_MD_CTX_new() else { throw GantryError.invalidArgument("libcrypto could not start a SHA-256 digest (out of memory)") }
            guard EVP_DigestInit_ex(c, EVP_sha256(), nil) == 1 else {
                EVP_MD_CTX_free(c)
                throw GantryError.invalidArgument("libcrypto has no SHA-256")
            }
            ctx = c
        }
        deinit { EVP_MD_CTX_free(ctx) }
    }

    private let context: Context

    public init() throws { context = try Context() }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        EVP_DigestUpdate(context.ctx, base, bytes.count)
    }

    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }
    public mutating func update(_ string: String) { update(Array(string.utf8)) }

    /// The hex digest of everything given so far.
    public mutating func finalize() -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context.ctx, &digest, &length)
        return digest.prefix(Int(length)).map { String(format: "%02x", $0) }.joined()
    }

    /// Hex digest of a file's bytes, read in 4 MiB pieces (inputs may be gigabytes of k-space).
    public static func file(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw GantryError.fileNotFound(path: path) }
        defer { try? handle.close() }
        var s = try SHA256()
        while true {
            let chunk: Data
            do { chunk = try handle.read(upToCount: 4 << 20) ?? Data() } catch {
                throw GantryError.invalidFile(path: path, problem: "cannot be read: \(error.localizedDescription)")
            }
            if chunk.isEmpty { break }
            chunk.withUnsafeBytes { s.update($0) }
        }
        return s.finalize()
    }

    /// A file's digest, or a folder's: every regular file below it (hidden ones too, links not
    /// followed) as its relative path and digest, in path order — a DICOM folder as a stage input.
    public static func fileOrFolder(_ path: String) throws -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else { return try file(path) }
        let names = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).sorted()
        var s = try SHA256()
        for name in names {
            let full = path + "/" + name
            guard let type = try? FileManager.default.attributesOfItem(atPath: full)[.type] as? FileAttributeType, type == .typeRegular else { continue }
            s.update("\(name)\t\(try file(full))\n")
        }
        return s.finalize()
    }

    public static func hex(_ string: String) throws -> String {
        var s = try SHA256()
        s.update(string)
        return s.finalize()
    }
}
