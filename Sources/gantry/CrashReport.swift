#if canImport(Glibc)
import Glibc
#endif

/// What a crash does: one short line on stderr, then the signal's default action (the exit status
/// says which signal). Replaces the Swift runtime's backtracer, which runs as a helper process that
/// inherits the command's stdout and stderr; when the caller reads them through pipes (CI,
/// `subprocess`, `| tee`) it waited minutes for the pipes to close after the command had died.
/// The runtime's own message ("Fatal error: …") is still printed before a trap.
enum CrashReport {
    static func install() {
        for signal in [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGABRT] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = crashed
            sigemptyset(&action.sa_mask)
            action.sa_flags = Int32(truncatingIfNeeded: SA_RESETHAND)  // the re-raise below takes the default action
            sigaction(signal, &action, nil)
        }
    }
}

/// Async-signal-safe: a fixed message by write(2), then the signal again with its default action.
private func crashed(_ signal: Int32) {
    let message: StaticString
    switch signal {
    case SIGSEGV: message = "gantry: crashed (SIGSEGV, invalid memory access) — a bug; please report it with the command and input\n"
    case SIGBUS: message = "gantry: crashed (SIGBUS, bad memory access) — a bug; please report it with the command and input\n"
    case SIGILL, SIGTRAP: message = "gantry: crashed (a runtime check failed; see the line above) — a bug; please report it with the command and input\n"
    case SIGFPE: message = "gantry: crashed (SIGFPE, arithmetic fault) — a bug; please report it with the command and input\n"
    default: message = "gantry: aborted — a bug; please report it with the command and input\n"
    }
    _ = write(2, message.utf8Start, message.utf8CodeUnitCount)
    raise(signal)
}
