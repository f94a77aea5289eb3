/// The one error type Gantry throws. Every case renders as a single readable line that names the
/// file (or argument) and what is wrong, so the CLI can print it and exit non-zero.
public enum GantryError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The path does not exist.
    case fileNotFound(path: String)
    /// The path exists but is a directory where a file was expected.
    case notAFile(path: String)
    /// The file is not in the expected format or is damaged (truncated, bad magic, corrupt gzip…).
    case invalidFile(path: String, problem: String)
    /// The file is well-formed but uses a feature Gantry does not support (e.g. an RGB datatype).
    case unsupported(path: String, problem: String)
    /// An HDF5 file lacks the dataset or attribute asked for.
    case missingDataset(path: String, name: String)
    /// Writing failed (disk full, permissions…); nothing was left behind.
    case writeFailed(path: String, problem: String)
    /// A caller passed an argument that cannot be honoured (shape mismatch, bad option value).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .fileNotFound(let p): return "\(p): no such file"
        case .notAFile(let p): return "\(p): is a directory, expected a file"
        case .invalidFile(let p, let m): return "\(p): \(m)"
        case .unsupported(let p, let m): return "\(p): unsupported: \(m)"
        case .missingDataset(let p, let n): return "\(p): no dataset or attribute '\(n)'"
        case .writeFailed(let p, let m): return "\(p): cannot write: \(m)"
        case .invalidArgument(let m): return m
        }
    }
}
