import ArgumentParser
import Foundation
import GantryCore
import GantryIO

/// Messages on stderr at the level `-q/--quiet` and `-v/--verbose` choose: warnings always,
/// progress unless quiet. Results go to stdout, which these never touch.
enum Log {
    enum Level: Int, Sendable { case quiet, normal, verbose }
    /// Set once from the command line before the command runs.
    static let level = LockedValue(Level.normal)

    static func progress(_ line: String) { if level.value != .quiet { write(line) } }
    static func detail(_ line: String) { if level.value == .verbose { write(line) } }
    static func warning(_ line: String) { write(line.hasPrefix("warning:") ? line : "warning: " + line) }

    private static func write(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
}

/// Prints a `--json` result: pretty, keys sorted (stable for diffs and scripts).
func printJSON(_ object: Any) throws {
    print(String(decoding: try FileIO.jsonBytes(object), as: UTF8.self))
}

/// `-q/--quiet` and `-v/--verbose`, on every command that reports progress.
struct OutputOptions: ParsableArguments {
    @Flag(name: [.short, .long], help: "Print only results, warnings and errors (no progress).")
    var quiet = false

    @Flag(name: [.short, .long], help: "Also print details (per-level optimiser steps, timings).")
    var verbose = false

    func validate() throws {
        if quiet && verbose { throw ValidationError("--quiet and --verbose exclude each other") }
    }

    func apply() { Log.level.value = quiet ? .quiet : verbose ? .verbose : .normal }
}
