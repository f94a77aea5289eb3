import Foundation
import GantryTestSupport
import XCTest

/// Every input in the fuzzing corpora and every reproducer a fuzzing run found (scripts/fuzz) goes
/// through its parser again in an ordinary build: a parser change that brings back a crash fails here.
final class FuzzCorpusReplayTests: XCTestCase {
    static let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/fuzz").path

    func testCorpusAndFindingsReplayWithoutACrash() throws {
        let binary = URL(fileURLWithPath: CLI.binary).deletingLastPathComponent().appendingPathComponent("gantry-fuzz").path
        for target in ["nifti", "hdf5", "safetensors", "pipeline", "itk"] {
            let corpus = Self.fuzz + "/corpus/" + target
            let count = (try FileManager.default.contentsOfDirectory(atPath: corpus)).count
            XCTAssertGreaterThan(count, 0, "no seeds for \(target)")
            let findings = ((try? FileManager.default.contentsOfDirectory(atPath: Self.fuzz + "/findings")) ?? [])
                .filter { $0.hasPrefix(target + "-") }.map { Self.fuzz + "/findings/" + $0 }
            let r = try CLI.run([target, corpus] + findings, timeout: 120, executable: binary)
            XCTAssertNil(r.signal, "\(target): a corpus input crashed the parser: \(r.stderr.suffix(500))")
            XCTAssertEqual(r.status, 0, "\(target): \(r.stderr.suffix(500))")
            XCTAssertTrue(r.stdout.contains("\(count + findings.count) input(s) replayed"), r.stdout)
        }
    }
}
