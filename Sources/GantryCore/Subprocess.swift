import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Another program run to its end, with a time limit: Slurm's commands, dcm2niix, and (in tests)
/// `gantry` itself. Spawned with posix_spawn and reaped with `wait4` on its own pid, so the exit
/// status and peak memory are the child's and no other code's reaping can steal them; both output
/// pipes are drained while it runs (a full pipe would block it); after the limit it is killed. A
/// program that leaves a daemon holding its pipes does not hang the caller either: the reads give up
/// ten seconds after the exit.
public enum Subprocess {
    public struct Outcome: Sendable {
        /// Exit status; -1 when a signal ended the process.
        public var status: Int32
        /// The signal that ended the process, if one did.
        public var signal: Int32?
        /// Killed at the time limit, or its pipes stayed open after it exited.
        public var timedOut: Bool
        public var stdout: String
        public var stderr: String
        public var seconds: Double
        /// Peak resident set size in bytes: the child's own high-water mark (`VmHWM`; programs it starts
        /// are not counted), read every 5 ms while it runs. Not wait4's `ru_maxrss`: Linux records the address space a child
        /// replaces at exec — a spawned child's is its parent's — so that figure is never below the
        /// caller's own peak. A spike in the child's last 5 ms is missed; touching a gigabyte takes longer.
        public var peakBytes: Int
    }

    /// Runs `executable args…` (a path, or a name looked up on PATH) with stdin from /dev/null.
    /// `environment` is added to this process's own. `signal` sends that signal `after` seconds (a
    /// crash injected from outside, for tests). Throws only when the program cannot be started.
    public static func run(_ executable: String, _ args: [String], timeout: Double, environment: [String: String] = [:],
                           signal: (Int32, after: Double)? = nil) throws -> Outcome {
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        guard let path = find(executable, path: env["PATH"]) else {
            throw GantryError.invalidArgument("'\(executable)' not found\(executable.contains("/") ? "" : " on PATH")")
        }
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0 else { throw POSIXError(.EMFILE) }
        guard pipe(&errPipe) == 0 else { close(outPipe[0]); close(outPipe[1]); throw POSIXError(.EMFILE) }
        // Not inherited by programs other threads start meanwhile (a daemon among them would hold them open).
        for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        let argv = ([path] + args).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0)=\($1)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let t0 = Date()
        let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        close(outPipe[1]); close(errPipe[1])
        guard rc == 0 else {
            close(outPipe[0]); close(errPipe[0])
            throw GantryError.invalidArgument("cannot run \(path): \(String(cString: strerror(rc)))")
        }
        final class Buffers: @unchecked Sendable { var out = Data(), err = Data() }
        let buffers = Buffers(), group = DispatchGroup()
        let readOut = FileHandle(fileDescriptor: outPipe[0], closeOnDealloc: true), readErr = FileHandle(fileDescriptor: errPipe[0], closeOnDealloc: true)
        group.enter(); Thread.detachNewThread { buffers.out = readOut.readDataToEndOfFile(); group.leave() }
        group.enter(); Thread.detachNewThread { buffers.err = readErr.readDataToEndOfFile(); group.leave() }
        var timedOut = false, signalled = false, status: Int32 = 0
        var usage = rusage(), peakKiB = 0
        while true {
            let r = wait4(pid, &status, WNOHANG, &usage)
            if r == pid { break }
            peakKiB = max(peakKiB, highWaterKiB(pid))
            if r < 0 && errno != EINTR { break }
            let elapsed = Date().timeIntervalSince(t0)
            if elapsed > timeout && !timedOut { timedOut = true; kill(pid, SIGKILL) }
            if let (s, after) = signal, !signalled, elapsed > after { signalled = true; kill(pid, s) }
            usleep(5_000)
        }
        let seconds = Date().timeIntervalSince(t0)
        let drained = group.wait(timeout: .now() + 10) == .success
        let bySignal = (status & 0x7f) != 0
        return Outcome(status: bySignal ? -1 : (status >> 8) & 0xff, signal: bySignal ? status & 0x7f : nil,
                       timedOut: timedOut || !drained,
                       stdout: drained ? String(decoding: buffers.out, as: UTF8.self) : "",
                       stderr: drained ? String(decoding: buffers.err, as: UTF8.self) : "",
                       seconds: seconds, peakBytes: peakKiB * 1024)
    }

    /// The `VmHWM` line of /proc/<pid>/status in KiB; 0 when it cannot be read (the process is gone).
    static func highWaterKiB(_ pid: pid_t) -> Int {
        let fd = open("/proc/\(pid)/status", O_RDONLY)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &bytes, bytes.count)
        guard n > 0 else { return 0 }
        let text = String(decoding: bytes[..<n], as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
        return Int(line.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") ?? 0
    }

    /// `name` itself when it is a path (contains '/') to an executable, else the first executable
    /// `name` in the PATH folders (this process's PATH when none is given).
    public static func find(_ name: String, path: String? = nil) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let folders = (path ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return folders.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
