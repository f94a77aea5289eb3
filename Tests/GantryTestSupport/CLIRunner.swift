import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

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

    public struct Outcome {
        public var status: Int32
        /// The signal that ended the process, if one did.
        public var signal: Int32?
        public var timedOut: Bool
        public var stdout: String
        public var stderr: String
        public var seconds: Double
        /// Peak resident set size in bytes (getrusage of the child).
        public var peakBytes: Int
    }

    /// Runs `gantry args…`; the process is killed after `timeout` seconds. Spawned with
    /// posix_spawn (not Foundation's Process, which reaps its children itself) so `wait4` gives the
    /// child's exit status and resource usage.
    /// `signal` sends that signal `after` seconds (a crash injected from outside).
    public static func run(_ args: [String], timeout: Double = 30, environment: [String: String] = [:], signal: (Int32, after: Double)? = nil,
                    executable: String = binary) throws -> Outcome {
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else { throw POSIXError(.EMFILE) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for fd in outPipe + errPipe { posix_spawn_file_actions_addclose(&actions, fd) }
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0)=\($1)" }
        let argv = ([executable] + args).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let t0 = Date()
        let rc = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        close(outPipe[1]); close(errPipe[1])
        guard rc == 0 else { close(outPipe[0]); close(errPipe[0]); throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .ENOENT) }
        // Drain both pipes while the child runs (a full pipe would block it).
        final class Buffers: @unchecked Sendable { var out = Data(), err = Data() }
        let buffers = Buffers()
        let group = DispatchGroup()
        let readOut = FileHandle(fileDescriptor: outPipe[0], closeOnDealloc: true), readErr = FileHandle(fileDescriptor: errPipe[0], closeOnDealloc: true)
        group.enter(); DispatchQueue.global().async { buffers.out = readOut.readDataToEndOfFile(); group.leave() }
        group.enter(); DispatchQueue.global().async { buffers.err = readErr.readDataToEndOfFile(); group.leave() }
        var timedOut = false, signalled = false
        var status: Int32 = 0
        var usage = rusage()
        while true {
            let r = wait4(pid, &status, WNOHANG, &usage)
            if r == pid { break }
            if r < 0 && errno != EINTR { break }
            if Date().timeIntervalSince(t0) > timeout && !timedOut { timedOut = true; kill(pid, SIGKILL) }
            if let (s, after) = signal, !signalled, Date().timeIntervalSince(t0) > after { signalled = true; kill(pid, s) }
            usleep(5_000)
        }
        let seconds = Date().timeIntervalSince(t0)
        // The pipes close when every holder is gone: a crash reporter left holding them would hang
        // the caller, which counts as a time-out here.
        let drained = group.wait(timeout: .now() + 10) == .success
        let bySignal = (status & 0x7f) != 0
        return Outcome(status: bySignal ? -1 : (status >> 8) & 0xff, signal: bySignal ? status & 0x7f : nil,
                       timedOut: timedOut || !drained,
                       stdout: String(decoding: buffers.out, as: UTF8.self), stderr: String(decoding: buffers.err, as: UTF8.self),
                       seconds: seconds, peakBytes: Int(usage.ru_maxrss) * 1024)
    }
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
