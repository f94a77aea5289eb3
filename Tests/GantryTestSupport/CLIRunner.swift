import Foundation
import GantryCore
import XCTest

/// Runs the built `gantry` binary as a user would, with stdout and stderr as pipes (as CI,
/// `subprocess` and `| tee` give it), a time limit, and the child's peak resident memory.
public enum CLI {
    /// The `gantry` executable built beside this test bundle.
    public static let binary: String = {
        let bundleDir = Bundle(for: Marker.self).bundleURL.deletingLastPathComponent()
        for dir in [bundleDir, URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()] {
            let p = dir.appendingPathComponent("gantry").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return bundleDir.appendingPathComponent("gantry").path
    }()

    final class Marker {}

    public typealias Outcome = Subprocess.Outcome

    /// Runs `gantry args…` (or another `executable`) with stdout and stderr as pipes; the process is
    /// killed after `timeout` seconds (times `timeoutScale`). `signal` sends that signal `after`
    /// seconds (a crash injected from outside).
    public static func run(_ args: [String], timeout: Double = 30, environment: [String: String] = [:], signal: (Int32, after: Double)? = nil,
                    executable: String = binary) throws -> Outcome {
        try Subprocess.run(executable, args, timeout: timeout * timeoutScale, environment: environment, signal: signal)
    }

    /// GANTRY_TEST_TIMEOUT_SCALE (default 1): `make tsan` and `make asan` set it, as the sanitizers
    /// run the binary 3–15 times slower. The limits are hang detectors; the plain suite keeps them as written.
    public static let timeoutScale: Double = {
        guard let text = ProcessInfo.processInfo.environment["GANTRY_TEST_TIMEOUT_SCALE"] else { return 1 }
        guard let v = Double(text), v >= 1, v.isFinite else { fatalError("GANTRY_TEST_TIMEOUT_SCALE must be a number ≥ 1, got '\(text)'") }
        return v
    }()
}

/// A fresh temporary folder, removed at the end of the test.
public final class TempDir {
    public let path: String
    public init() throws {
        path = NSTemporaryDirectory() + "gantry-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    /// Every file below the folder, relative paths, hidden ones included.
    public var allFiles: [String] {
        (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).sorted()
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}
