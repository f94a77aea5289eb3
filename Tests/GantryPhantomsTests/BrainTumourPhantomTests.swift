import Foundation
import GantryCore
import GantryIO
@testable import GantryPhantoms
import XCTest

final class BrainTumourPhantomTests: XCTestCase {
    static let anatomy: BrainAnatomy = {
        // Small ellipsoid brain: no package needed, fast in debug builds.
        (try? BrainAnatomy.ellipsoid(shape: [48, 56, 48], spacing: 3.5)) ?? BrainAnatomy(tissue: [], texture: try! Volume(shape: [1, 1, 1], data: [0]), source: "")
    }()

    func phantom() -> BrainTumourPhantom { BrainTumourPhantom(anatomy: Self.anatomy) }

    func testSpecFileMatchesDefaults() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../phantoms/brain-tumour.json").standardized
        let spec = try JSONDecoder().decode(BrainTumourSpec.self, from: Data(contentsOf: url))
        XCTAssertEqual(spec, .default)
    }

    func testCoilSpecFileMatchesDefaults() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../phantoms/coils.json").standardized
        XCTAssertEqual(try JSONDecoder().decode(CoilGeometry.self, from: Data(contentsOf: url)), .default)
    }

    func testDeterministicAndSeedDependent() throws {
        let a = try phantom().subject(seed: 5), b = try phantom().subject(seed: 5), c = try phantom().subject(seed: 6)
        XCTAssertEqual(a.contrasts[.flair]?.data, b.contrasts[.flair]?.data)
        XCTAssertEqual(a.tumour.data, b.tumour.data)
        XCTAssertNotEqual(a.tumour.data, c.tumour.data)
        XCTAssertNotEqual(a.brainMask.data, c.brainMask.data, "anatomy must vary per seed (deformation)")
    }

    func testLabelsAndContrastOrdering() throws {
        for seed in [1, 2, 3] as [UInt64] {
            let s = try phantom().subject(seed: seed)
            let labels = s.tumour.data, tissue = s.tissue.data
            XCTAssertEqual(Set(labels), [0, 1, 2, 3], "every tumour sub-region present (seed \(seed))")
            XCTAssertTrue(zip(labels, s.brainMask.data).allSatisfy { $0.0 == 0 || $0.1 == 1 }, "tumour inside the brain")
            func mean(_ c: Contrast, where pick: (Int) -> Bool) -> Double {
                let v = s.contrasts[c]!.data
                var sum = 0.0, n = 0
                for i in 0..<v.count where pick(i) { sum += Double(v[i]); n += 1 }
                return sum / Double(max(n, 1))
            }
            let healthy = { (t: Float) in { (i: Int) in labels[i] == 0 && tissue[i] == t } }
            let tumour = { (l: Float) in { (i: Int) in labels[i] == l } }
            // T1ce: enhancing rim brightest, necrosis dark
            XCTAssertGreaterThan(mean(.t1ce, where: tumour(3)), mean(.t1ce, where: healthy(3)))
            XCTAssertLessThan(mean(.t1ce, where: tumour(1)), mean(.t1ce, where: tumour(3)))
            // FLAIR: oedema bright, CSF suppressed
            XCTAssertGreaterThan(mean(.flair, where: tumour(2)), mean(.flair, where: healthy(2)))
            XCTAssertLessThan(mean(.flair, where: healthy(1)), mean(.flair, where: healthy(3)))
            // T2: CSF brightest; T1: WM > GM > CSF
            XCTAssertGreaterThan(mean(.t2, where: healthy(1)), mean(.t2, where: healthy(2)))
            XCTAssertGreaterThan(mean(.t1, where: healthy(3)), mean(.t1, where: healthy(2)))
            XCTAssertGreaterThan(mean(.t1, where: healthy(2)), mean(.t1, where: healthy(1)))
            // all volumes share one grid
            for v in s.contrasts.values { XCTAssertEqual(v.affine, s.tumour.affine); XCTAssertEqual(v.shape, s.tumour.shape) }
        }
    }

    func testKSpaceConsistency() throws {
        let s = try phantom().subject(seed: 4)
        let t1 = try XCTUnwrap(s.contrasts[.t1])
        let sim = CoilSimulation(coils: 6, snr: 40, seed: 3)
        let maps = sim.sensitivities(ny: 20, nx: 16)
        for p in 0..<(20 * 16) {
            var sum: Float = 0
            for c in 0..<6 { let o = 2 * (c * 320 + p); sum += maps[o] * maps[o] + maps[o + 1] * maps[o + 1] }
            XCTAssertEqual(sum, 1, accuracy: 1e-5)
        }
        let nz = t1.spatialShape[2]
        let file = try sim.simulate(t1, slices: [nz / 2, nz / 2 + 1], acquisition: "AXT1")
        let (nx, ny) = (t1.spatialShape[0], t1.spatialShape[1])
        XCTAssertEqual(file.shape, [2, 6, ny, nx])
        // RSS of the inverse FFT of the simulated k-space ≈ |image|, error at the noise level
        let rss = try XCTUnwrap(file.reconstructionRSS)
        var err = 0.0, n = 0, sigmaSum = 0.0
        for (si, z) in [nz / 2, nz / 2 + 1].enumerated() {
            for p in 0..<(nx * ny) where t1.data[z * nx * ny + p] > 0 {
                err += pow(Double(rss.data[si * nx * ny + p] - t1.data[z * nx * ny + p]), 2); n += 1
                sigmaSum += Double(t1.data[z * nx * ny + p])
            }
        }
        let rmse = (err / Double(n)).squareRoot()
        let sigma = sigmaSum / Double(n) / 40
        XCTAssertLessThan(rmse, 2 * sigma, "RSS recon error \(rmse) vs noise σ \(sigma)")
        XCTAssertGreaterThan(rmse, 0.3 * sigma, "noise must be present")
        XCTAssertEqual(file.max, Double(rss.data.max()!))
    }

    func testStudyFolderIsCompleteDeterministicAndReadable() throws {
        let a = NSTemporaryDirectory() + "gantry-study-\(UUID().uuidString)", b = a + "-again"
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        let study = PhantomStudy(subjects: 2, seed: 11, phantom: phantom(), kspaceSlices: 2, coils: 4)
        XCTAssertEqual(try study.write(to: a), ["sub-01", "sub-02"])
        try study.write(to: b)
        let files = try XCTUnwrap(FileManager.default.subpathsOfDirectory(atPath: a)).filter { !$0.hasSuffix("anat") && !$0.hasSuffix("kspace") && $0.contains(".") }.sorted()
        XCTAssertEqual(files.count, 4 + 2 * 8)
        for f in files {
            XCTAssertTrue(try FileIO.readAll(a + "/" + f) == FileIO.readAll(b + "/" + f), "\(f) differs between two runs")
            if f.hasSuffix(".nii.gz") || f.hasSuffix(".h5") { XCTAssertNoThrow(try Inspect.describe(a + "/" + f), f) }
        }
        let labels = try NIfTI.readHeader(a + "/sub-01/anat/sub-01_label-tumour_dseg.nii.gz")
        XCTAssertEqual(labels.type, .uint8)
        let k = try KSpaceFile.read(a + "/sub-02/kspace/sub-02_T1w_kspace.h5")
        XCTAssertEqual(k.coils, 4)
        XCTAssertEqual(k.acquisition, "AXT1")
        XCTAssertNotNil(k.sensitivityMaps)
    }

    func testColin27Anatomy() throws {
        guard FileManager.default.fileExists(atPath: BrainAnatomy.colin27Path) else {
            return XCTFail("Colin27 is not installed (Debian package mricron-data; make deps installs it)")
        }
        let a = try BrainAnatomy.colin27(spacing: 3)
        let counts = (1...3).map { t in a.tissue.filter { $0 == UInt8(t) }.count }
        // Adult brain: WM and GM each a large share, CSF smaller than GM (skull-stripped template).
        XCTAssertGreaterThan(counts[1], counts[0])
        XCTAssertGreaterThan(counts[2], counts[0] / 2)
        let total = Double(counts.reduce(0, +)) * 27 / 1000
        XCTAssertGreaterThan(total, 1000, "brain volume \(total) mL")
        XCTAssertLessThan(total, 2000, "brain volume \(total) mL")
    }
}
