import Foundation
import GantryTestSupport
import XCTest

/// The committed bad-input corpus (scripts/fixtures/make_bad_inputs.py): every case ends within
/// 30 s, by no signal, with peak memory under 1.5 GB, and either a one-line error naming the problem
/// and nothing written, or the documented result.
final class BadInputCorpusTests: XCTestCase {
    struct Case: Decodable {
        var name: String
        var args: [String]
        var expect: String
        var phrase: String
        var why: String
    }

    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/bad-inputs").path
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("models").path

    func testEveryCaseEndsInAOneLineErrorOrTheDocumentedResult() throws {
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: URL(fileURLWithPath: Self.corpus + "/cases.json")))
        XCTAssertGreaterThan(cases.count, 40)
        var failures: [String] = []
        for c in cases {
            let dir = try TempDir()
            let args = c.args.map {
                $0.replacingOccurrences(of: "{corpus}", with: Self.corpus).replacingOccurrences(of: "{out}", with: dir.path)
                    .replacingOccurrences(of: "{models}", with: Self.models)
            }
            let r = try CLI.run(args, timeout: 30)
            var problems: [String] = []
            if r.timedOut { problems.append("did not end within 30 s") }
            if let s = r.signal { problems.append("killed by signal \(s)") }
            if r.peakBytes > 1_500_000_000 { problems.append("peak memory \(r.peakBytes / 1_000_000) MB") }
            let errorLines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
            switch c.expect {
            case "error":
                if r.status == 0 { problems.append("exit 0 (expected an error)") }
                if errorLines.count != 1 { problems.append("\(errorLines.count) error lines: \(r.stderr.prefix(300))") }
                if !c.phrase.isEmpty, !(errorLines.first.map { $0.localizedCaseInsensitiveContains(c.phrase) } ?? false) {
                    problems.append("error lacks '\(c.phrase)': \(errorLines.first ?? "")")
                }
                if !dir.allFiles.isEmpty { problems.append("left files behind: \(dir.allFiles.prefix(5))") }
            default:
                if r.status != 0 { problems.append("exit \(r.status): \(r.stderr.suffix(300))") }
                if !c.phrase.isEmpty, !(r.stdout + r.stderr).localizedCaseInsensitiveContains(c.phrase) {
                    problems.append("output lacks '\(c.phrase)'")
                }
            }
            if !problems.isEmpty { failures.append("\(c.name): " + problems.joined(separator: "; ")) }
        }
        XCTAssert(failures.isEmpty, "\(failures.count) of \(cases.count) cases failed:\n" + failures.joined(separator: "\n"))
    }
}
