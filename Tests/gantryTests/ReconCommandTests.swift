import Foundation
import GantryIO
import GantryTestSupport
import XCTest

/// `gantry recon` on a fastMRI brain file laid out as published (Tests/GantryReconTests/Fixtures/fastmri).
final class ReconCommandTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("GantryReconTests/Fixtures/fastmri").path

    func testScoresAgainstTheReferenceAndKeepsHeaderAndAttributes() throws {
        let dir = try TempDir()
        let r = try CLI.run(["recon", "--in", Self.fixtures + "/brain_as_published.h5", "--method", "zf", "--out", dir.path + "/zf.nii.gz"])
        XCTAssertEqual(r.status, 0, r.stderr)
        // Cropped to reconSpace, so the reference is compared (zero-filled of fully sampled data is it).
        XCTAssertTrue(r.stdout.contains("vs reconstruction_rss: NMSE 0.0000"), r.stdout)
        let info = try CLI.run(["info", dir.path + "/zf.nii.gz"])
        XCTAssertTrue(info.stdout.contains("shape:       32 × 32 × 3"), info.stdout)
        XCTAssertTrue(info.stdout.contains("spacing:     6.875 × 6.875 × 5 mm"), info.stdout)

        let sub = try CLI.run(["recon", "--in", Self.fixtures + "/brain_challenge.h5", "--fastmri-submission", "--out", dir.path + "/sub.h5"])
        XCTAssertEqual(sub.status, 0, sub.stderr)
        let tree = try CLI.run(["info", dir.path + "/sub.h5"])
        for line in ["/reconstruction  float32 [3, 32, 32]", "/ismrmrd_header", "@patient_id = \"d4e5f6\"", "@acceleration = 4", "@num_low_frequency = 8"] {
            XCTAssertTrue(tree.stdout.contains(line), "\(line) missing in:\n\(tree.stdout)")
        }
        let raw = try CLI.run(["info", Self.fixtures + "/brain_as_published.h5"])
        XCTAssertTrue(raw.stdout.contains("64 × 32 (readout × phase encode)"), raw.stdout)
        XCTAssertTrue(raw.stdout.contains("recon:       32 × 32 × 1, FOV 220 × 220 × 5 mm"), raw.stdout)
    }

    func testAnUnsupportedOutputIsRefusedBeforeAnyWork() throws {
        let dir = try TempDir()
        let r = try CLI.run(["recon", "--in", Self.fixtures + "/brain_as_published.h5", "--out", dir.path + "/x.png"])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("--out must end in .nii, .nii.gz, .h5 or .cfl"), r.stderr)
        XCTAssertEqual(dir.allFiles, [])
        // Typed values: a typo is caught by the parser, which lists what is valid.
        let typo = try CLI.run(["recon", "--in", Self.fixtures + "/brain_as_published.h5", "--out", dir.path + "/x.nii.gz", "--method", "cs-l2"])
        XCTAssertEqual(typo.status, 64)
        XCTAssertTrue(typo.stderr.contains("cs-l1") && typo.stderr.contains("cirim"), typo.stderr)
        let reg = try CLI.run(["register", "--fixed", "a.nii", "--moving", "b.nii", "--out", dir.path, "--metric", "nmi"])
        XCTAssertEqual(reg.status, 64)
        XCTAssertTrue(reg.stderr.contains("lncc"), reg.stderr)
        let cell = try CLI.run(["train", "recon", "--kspace", "a.h5", "--validation", "b.h5", "--out", dir.path + "/m.safetensors", "--cell", "lstm"])
        XCTAssertEqual(cell.status, 64)
        XCTAssertTrue(cell.stderr.contains("'gru', 'mgu' or 'indrnn'"), cell.stderr)
        let arch = try CLI.run(["train", "segment", "--study", dir.path, "--out", dir.path + "/m.safetensors", "--architecture", "vnet"])
        XCTAssertEqual(arch.status, 64)
        XCTAssertTrue(arch.stderr.contains("rev-mb-unet"), arch.stderr)
        XCTAssertEqual(dir.allFiles, [])
    }

    /// BART's own files in and out: zero-filled of BART's phantom k-space (`bart phantom -k -s 8`)
    /// equals the root-sum-of-squares of BART's unitary inverse FFT (`bart fft -u -i 3`).
    func testBARTFilesInAndOut() throws {
        let dir = try TempDir()
        let bart = URL(fileURLWithPath: Self.fixtures).deletingLastPathComponent().appendingPathComponent("bart").path
        let r = try CLI.run(["recon", "--in", bart + "/ksp.cfl", "--method", "zf", "--out", dir.path + "/zf.cfl"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let (dims, data) = try BARTFile.read(dir.path + "/zf")
        XCTAssertEqual(Array(dims.prefix(4)), [48, 48, 1, 1])
        let (coilDims, coils) = try BARTFile.read(bart + "/fft_img")
        let plane = coilDims[0] * coilDims[1]
        var worst: Float = 0, peak: Float = 0
        for p in 0..<plane {
            var s: Float = 0
            for c in 0..<coilDims[3] { s += coils[2 * (c * plane + p)] * coils[2 * (c * plane + p)] + coils[2 * (c * plane + p) + 1] * coils[2 * (c * plane + p) + 1] }
            worst = max(worst, abs(s.squareRoot() - data[2 * p])); peak = max(peak, s.squareRoot())
        }
        XCTAssertLessThan(worst / peak, 1e-5)
    }
}
