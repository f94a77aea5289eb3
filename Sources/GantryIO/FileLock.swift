import Foundation
import GantryCore
#if canImport(Glibc)
import Glibc
#endif

/// Advisory whole-file locks (flock(2)) and folders made without following links: what lets two
/// Gantry runs share one output folder. The kernel drops a lock when its holder dies, so a killed
/// run never leaves one held.
public enum FileLock {
    /// Runs `body` holding an exclusive lock on `path` (created if missing), waiting for it.
    /// Locks are per open file, so threads of one process exclude each other too.
    public static func withExclusive<T>(_ path: String, _ body: () throws -> T) throws -> T {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw GantryError.writeFailed(path: path, problem: "cannot open lock file: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw GantryError.writeFailed(path: path, problem: "cannot lock: \(String(cString: strerror(errno)))") }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    /// Whether some process holds the lock on `path` now (false if the file does not exist).
    public static func isHeld(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { flock(fd, LOCK_UN); return false }
        return errno == EWOULDBLOCK
    }

    /// Creates `relative` (a/b/c) below `root` one folder at a time, refusing any part that exists
    /// as a symbolic link or a file: a link planted inside an output folder must not carry writes
    /// outside it. `root` itself is the user's choice and may be a link. Returns the full path.
    @discardableResult
    public static func createFolders(_ relative: String, under root: String) throws -> String {
        var path = root
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        for part in relative.split(separator: "/") where !part.isEmpty {
            guard part != "..", part != "." else { throw GantryError.invalidArgument("\(relative): no '.' or '..' parts in an output path") }
            path += "/" + part
            var st = stat()
            if lstat(path, &st) == 0 {
                if (st.st_mode & S_IFMT) == S_IFLNK {
                    throw GantryError.writeFailed(path: path, problem: "is a symbolic link; Gantry writes only into folders it created inside the output folder")
                }
                guard (st.st_mode & S_IFMT) == S_IFDIR else { throw GantryError.writeFailed(path: path, problem: "exists and is not a folder") }
            } else if mkdir(path, 0o755) != 0 && errno != EEXIST {
                throw GantryError.writeFailed(path: path, problem: String(cString: strerror(errno)))
            }
        }
        return path
    }
}
