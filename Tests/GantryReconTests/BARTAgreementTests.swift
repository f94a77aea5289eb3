import Foundation
import GantryCore
import GantryIO
import GantryMetrics
@testable import GantryRecon
import XCTest

/// Agreement with BART v0.8.00 (Debian) on the same input: scripts/fixtures/make_bart_fixtures.py.
final class BARTAgreementTests: XCTestCase {
    let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/bart").path
    let (n, coils) = (48, 8)

    func load(_ name: String) throws -> [Float] { try BARTFile.read(dir + "/" + name).data }

    func testCentredUnitaryFFTMatchesBART() throws {
        var k = try load("ksp")
        let ref = try load("fft_img")
        try FFTPlan.plan(shape: [n, n], batch: coils).inverse(&k)
        let peak = ref.map(abs).max() ?? 1
        var worst: Float = 0
        for i in 0..<k.count { worst = max(worst, abs(k[i] - ref[i])) }
        XCTAssertLessThan(worst, 1e-5 * peak, "max |Gantry − BART| = \(worst), peak \(peak)")
    }

    func testCSL1WithinHalfADecibelOfBARTPics() throws {
        let meta = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/meta.json"))) as? [String: Any])
        let lambda = Float(try XCTUnwrap(meta["lambda"] as? Double)), iterations = try XCTUnwrap(meta["iterations"] as? Int)
        var k = try load("ksp")
        let maskC = try load("mask")
        let mask = (0..<(n * n)).map { maskC[2 * $0] }
        let maps = try load("maps")
        // reference: RSS of the fully sampled coil images
        var full = k
        try FFTPlan.plan(shape: [n, n], batch: coils).inverse(&full)
        let reference = ComplexBuffer.rss(full, coils: coils, pixels: n * n)
        for c in 0..<coils { for p in 0..<(n * n) where mask[p] == 0 { k[2 * (c * n * n + p)] = 0; k[2 * (c * n * n + p) + 1] = 0 } }
        let ours = try Reconstructor.reconstructSlice(k, mask: mask, coils: coils, ny: n, nx: n,
                                                      options: ReconOptions(method: .csL1, lambda: lambda, iterations: iterations, mapsFromFile: true), fileMaps: maps)
        let bart = ComplexBuffer.magnitude(try load("pics_l1"))
        let zf = try Reconstructor.reconstructSlice(k, mask: mask, coils: coils, ny: n, nx: n, options: ReconOptions(method: .zeroFilled))
        let range = Double(reference.max() ?? 1)
        let pOurs = ImageMetrics.psnr(ours, reference: reference, dataRange: range)
        let pBart = ImageMetrics.psnr(bart, reference: reference, dataRange: range)
        let pZF = ImageMetrics.psnr(zf, reference: reference, dataRange: range)
        print(String(format: "CS-L1 PSNR: Gantry %.2f dB, BART pics %.2f dB, zero-filled %.2f dB", pOurs, pBart, pZF))
        XCTAssertLessThan(abs(pOurs - pBart), 0.5, "Gantry \(pOurs) dB vs BART pics \(pBart) dB (zero-filled \(pZF) dB)")
        XCTAssertGreaterThan(pOurs, pZF)
    }

    func testCalibrationMapsAgreeWithESPIRiTUpToPhase() throws {
        // Our RSS-normalised calibration maps vs BART ecalib, per pixel |⟨a, b⟩|/(‖a‖‖b‖), inside the object.
        let k = try load("ksp")
        var band = [Float](repeating: 0, count: n * n)
        for y in 0..<n { for x in 0..<n where abs(x - n / 2) <= 8 && abs(y - n / 2) <= 8 { band[y * n + x] = 1 } }
        let ours = try CoilSensitivity.fromCalibration(kspace: k, mask: band, coils: coils, ny: n, nx: n)
        let bart = try load("maps")
        var full = k
        try FFTPlan.plan(shape: [n, n], batch: coils).inverse(&full)
        let rss = ComplexBuffer.rss(full, coils: coils, pixels: n * n)
        let thresh = 0.2 * (rss.max() ?? 1)
        var sum = 0.0, count = 0
        for p in 0..<(n * n) where rss[p] > thresh {
            sum += MapComparison.pixel(ours, bart, pixel: p, pixels: n * n, coils: coils).cosine
            count += 1
        }
        XCTAssertGreaterThan(count, 200)
        print(String(format: "maps vs ESPIRiT: mean per-pixel cosine %.4f over %d pixels", sum / Double(count), count))
        XCTAssertGreaterThan(sum / Double(count), 0.97, "mean per-pixel |cosine| between Gantry and ESPIRiT maps")
    }
}

final class ESPIRiTTests: XCTestCase {
    func testMapsMatchBARTEcalib() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/bart").path
        let (n, coils) = (48, 8)
        let k = try BARTFile.read(dir + "/ksp").data, bart = try BARTFile.read(dir + "/maps").data
        let (ours, eig) = try ESPIRiT.maps(kspace: k, coils: coils, ny: n, nx: n)
        var sum = 0.0, count = 0, support = 0, agree = 0
        for p in 0..<(n * n) {
            let m = MapComparison.pixel(ours, bart, pixel: p, pixels: n * n, coils: coils)
            if (m.normA > 0) == (m.normB > 0) { agree += 1 }
            if m.normB > 0 { support += 1 }
            if m.normA > 0 && m.normB > 0 { sum += m.cosine; count += 1 }
        }
        var outside: [Float] = []
        for p in 0..<(n * n) { var nb: Float = 0; for c in 0..<coils { nb += abs(bart[2 * (c * n * n + p)]) }; if nb == 0 { outside.append(eig[p]) } }
        outside.sort()
        if !outside.isEmpty { print("eigenvalues where BART is zero: min \(outside.first!) median \(outside[outside.count / 2]) max \(outside.last!)") }
        print(String(format: "ESPIRiT vs BART ecalib: cosine %.5f over %d px; support agreement %.4f; BART support %d; max eigenvalue %.3f", sum / Double(max(count, 1)), count, Double(agree) / Double(n * n), support, eig.max() ?? 0))
        // Same maps up to phase wherever BART has them, and BART's support lies inside ours. (Ours is
        // larger: outside the object our eigenvalues stay above the 0.8 crop where BART's fall below.)
        XCTAssertGreaterThan(Double(count), 0.99 * Double(support))
        XCTAssertGreaterThan(sum / Double(count), 0.99)
    }
}

/// Per-pixel comparison of two coil-map sets, invariant to a per-pixel phase: |⟨a, b⟩| / (‖a‖‖b‖).
enum MapComparison {
    static func pixel(_ a: [Float], _ b: [Float], pixel p: Int, pixels n: Int, coils: Int) -> (cosine: Double, normA: Double, normB: Double) {
        var re = 0.0, im = 0.0, na = 0.0, nb = 0.0
        for c in 0..<coils {
            let o = 2 * (c * n + p)
            let (ar, ai, br, bi) = (Double(a[o]), Double(a[o + 1]), Double(b[o]), Double(b[o + 1]))
            re += ar * br + ai * bi; im += ar * bi - ai * br
            na += ar * ar + ai * ai; nb += br * br + bi * bi
        }
        return ((re * re + im * im).squareRoot() / max((na * nb).squareRoot(), 1e-30), na, nb)
    }
}
