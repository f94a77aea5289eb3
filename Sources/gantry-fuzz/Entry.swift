import Foundation

/// libFuzzer's entry point. The target comes from GANTRY_FUZZ_TARGET (read once).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let target = selectedTarget else { return 0 }
    target.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

let selectedTarget: FuzzTarget? = {
    guard let name = ProcessInfo.processInfo.environment["GANTRY_FUZZ_TARGET"], let t = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write("GANTRY_FUZZ_TARGET must be one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n".data(using: .utf8)!)
        exit(64)
    }
    return t
}()

#if GANTRY_FUZZ
/// libFuzzer's driver, run from the program's entry point (SwiftPM names an executable's entry
/// `gantry_fuzz_main` and points `main` at it, so libFuzzer's own `main` is not used).
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@_cdecl("gantry_fuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc, values = argv
    return runFuzzerDriver(&count, &values) { data, size in fuzzOneInput(data, size) }
}
#else
/// Without libFuzzer (ordinary builds): replays inputs through a target, so the committed corpus
/// and every reproducer run as regression cases. `gantry-fuzz TARGET FILE|FOLDER…`
@main
struct Replay {
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        guard let name = args.first, let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write("usage: gantry-fuzz \(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")) FILE|FOLDER…\n".data(using: .utf8)!)
            exit(64)
        }
        var count = 0
        for path in args.dropFirst() {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { continue }
            let files = isDir.boolValue ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 } : [path]
            for f in files {
                guard let d = FileManager.default.contents(atPath: f) else { continue }
                target.run(Array(d))
                count += 1
            }
        }
        print("\(name): \(count) input(s) replayed")
    }
}
#endif
