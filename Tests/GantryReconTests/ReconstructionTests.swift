import GantryCore
import GantryIO
import GantryMetrics
import GantryPhantoms
@testable import GantryRecon
import XCTest

/// End-to-end reconstructions on simulated multi-coil phantom k-space.
final class ReconstructionTests: XCTestCase {
    static let subject: BrainTumourSubject? = {
        guard let a = try? BrainAnatomy.ellipsoid(shape: [64, 72, 12], spacing: 3) else { return nil }
        return try? BrainTumourPhantom(anatomy: a).subject(seed: 2)
    }()

    func kspace(snr: Double) throws -> KSpaceFile {
        let t1 = try XCTUnwrap(Self.subject?.contrasts[.t1])
        return try CoilSimulation(coils: 8, snr: snr, seed: 4).simulate(t1, slices: [5, 6], acquisition: "AXT1")
    }

    func metrics(_ r: ReconResult, _ ref: [Float]) throws -> (psnr: Double, ssim: Double) {
        let range = Double(ref.max() ?? 0)
        return (ImageMetrics.psnr(r.images, reference: ref, dataRange: range),
                try ImageMetrics.ssim(r.images, reference: ref, slices: r.slices, ny: r.ny, nx: r.nx, dataRange: range))
    }

    func testFullySampledReconstructsTheReference() throws {
        let file = try kspace(snr: 1e7)
        let ref = try XCTUnwrap(file.reconstructionRSS?.data)
        let zf = try Reconstructor.run(file, options: ReconOptions(method: .zeroFilled))
        for i in 0..<ref.count { XCTAssertEqual(zf.images[i], ref[i], accuracy: 1e-5) }
        // SENSE with the true maps on fully sampled, (practically) noiseless data returns |image|.
        let s = try Reconstructor.run(file, options: ReconOptions(method: .sense, lambda: 0, iterations: 10, mapsFromFile: true))
        let err = zip(s.images, ref).map { abs($0 - $1) }.max() ?? 1
        XCTAssertLessThan(err, 1e-3 * (ref.max() ?? 1))
    }

    func testCompressedSensingBeatsZeroFilledAt4xAnd8x() throws {
        let file = try kspace(snr: 60)
        let ref = try XCTUnwrap(file.reconstructionRSS?.data)
        for r in [4.0, 8.0] {
            let mask = SamplingMask(kind: .poisson, acceleration: r, centerFraction: 0.12, seed: 1)
            let zf = try metrics(try Reconstructor.run(file, options: ReconOptions(method: .zeroFilled, mask: mask)), ref)
            for method in [ReconMethod.csL1, .csTV, .sense] {
                let m = try metrics(try Reconstructor.run(file, options: ReconOptions(method: method, mask: mask)), ref)
                XCTAssertGreaterThan(m.psnr, zf.psnr + 0.5, "\(method) R=\(r): PSNR \(m.psnr) vs zero-filled \(zf.psnr)")
                XCTAssertGreaterThan(m.ssim, zf.ssim, "\(method) R=\(r): SSIM \(m.ssim) vs zero-filled \(zf.ssim)")
            }
        }
    }

    func testReconstructsTheH5pyFastMRIFixtures() throws {
        // fastMRI-layout files written by h5py (Tests/GantryIOTests/Fixtures/hdf5).
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../GantryIOTests/Fixtures/hdf5").standardized.path
        let multi = try KSpaceFile.read(dir + "/fastmri_multicoil.h5")
        let r = try Reconstructor.run(multi, options: ReconOptions(method: .zeroFilled))
        // The file's mask (1D over kx) is applied; with everything kept RSS equals reconstruction_rss.
        XCTAssertEqual([r.slices, r.ny, r.nx], [2, 8, 6])
        let full = try Reconstructor.run(multi, options: ReconOptions(method: .zeroFilled, mask: SamplingMask(acceleration: 1, centerFraction: 1)))
        let ref = try XCTUnwrap(multi.reconstructionRSS?.data)
        // h5py's reconstruction_rss is the RSS of the raw (non-FFT'd) values in that fixture, so compare
        // with the RSS of the inverse FFT's input instead: ‖k‖ per pixel is preserved only in total.
        XCTAssertEqual(full.images.reduce(0) { $0 + $1 * $1 }, ref.reduce(0) { $0 + $1 * $1 }, accuracy: 1e-3 * ref.reduce(0) { $0 + $1 * $1 })
        let single = try KSpaceFile.read(dir + "/fastmri_singlecoil.h5")
        let s = try Reconstructor.run(single, options: ReconOptions(method: .zeroFilled))
        XCTAssertEqual([s.slices, s.ny, s.nx], [2, 8, 6])
    }

    func testCalibrationMapsAreNormalised() throws {
        let file = try kspace(snr: 1e7)
        let (ny, nx) = (72, 64)
        let k = Array(file.kspace[0..<(2 * 8 * ny * nx)])
        let mask = [Float](repeating: 1, count: ny * nx)
        // a fully sampled band of 16 columns
        var band = mask
        for y in 0..<ny { for x in 0..<nx where abs(x - nx / 2) > 8 { band[y * nx + x] = 0 } }
        XCTAssertEqual(CoilSensitivity.calibrationWidth(mask: band, ny: ny, nx: nx), 17)
        let maps = try CoilSensitivity.fromCalibration(kspace: k, mask: band, coils: 8, ny: ny, nx: nx)
        let t1 = try XCTUnwrap(Self.subject?.contrasts[.t1])
        for p in stride(from: 0, to: ny * nx, by: 7) where t1.data[5 * ny * nx + p] > 0.2 {
            var s: Float = 0
            for c in 0..<8 { let o = 2 * (c * ny * nx + p); s += maps[o] * maps[o] + maps[o + 1] * maps[o + 1] }
            XCTAssertEqual(s, 1, accuracy: 1e-3)
        }
    }
}
