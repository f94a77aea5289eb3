import Foundation
import GantryRecon
import XCTest

/// The centred orthonormal FFT against a direct DFT (independent reference) on odd and even sizes.
final class FFTTests: XCTestCase {
    /// Direct centred orthonormal DFT over the last axes: fftshift(DFT(ifftshift(x)))/sqrt(N).
    func reference(_ x: [Float], shape: [Int], inverse: Bool) -> [Float] {
        let n = shape.reduce(1, *)
        let d = shape.count
        func multi(_ f: Int) -> [Int] { var r = [Int](repeating: 0, count: d); var f = f; for a in stride(from: d - 1, through: 0, by: -1) { r[a] = f % shape[a]; f /= shape[a] }; return r }
        var out = [Float](repeating: 0, count: 2 * n)
        let sign = inverse ? 1.0 : -1.0
        for ko in 0..<n {
            let kc = multi(ko)
            var re = 0.0, im = 0.0
            for xo in 0..<n {
                let xc = multi(xo)
                var phase = 0.0
                for a in 0..<d {
                    // centred coordinates: index − n/2
                    let kk = Double(kc[a] - shape[a] / 2), xx = Double(xc[a] - shape[a] / 2)
                    phase += kk * xx / Double(shape[a])
                }
                let ang = sign * 2 * Double.pi * phase
                let (c, s) = (cos(ang), sin(ang))
                let xr = Double(x[2 * xo]), xi = Double(x[2 * xo + 1])
                re += xr * c - xi * s
                im += xr * s + xi * c
            }
            out[2 * ko] = Float(re / Double(n).squareRoot())
            out[2 * ko + 1] = Float(im / Double(n).squareRoot())
        }
        return out
    }

    func random(_ n: Int, seed: UInt64) -> [Float] {
        var s = seed
        return (0..<n).map { _ in s = s &* 6364136223846793005 &+ 1442695040888963407; return Float(Int64(bitPattern: s >> 11) % 2000) / 1000 - 1 }
    }

    func testMatchesDirectDFT() throws {
        for shape in [[8], [7], [6, 5], [4, 6], [3, 4, 5]] {
            let n = shape.reduce(1, *)
            let x = random(2 * n, seed: UInt64(n))
            var y = x
            try FFTPlan.plan(shape: shape).forward(&y)
            let r = reference(x, shape: shape, inverse: false)
            for i in 0..<y.count { XCTAssertEqual(y[i], r[i], accuracy: 1e-5, "\(shape)") }
            var z = x
            try FFTPlan.plan(shape: shape).inverse(&z)
            let ri = reference(x, shape: shape, inverse: true)
            for i in 0..<z.count { XCTAssertEqual(z[i], ri[i], accuracy: 1e-5, "\(shape) inverse") }
        }
    }

    /// Odd sizes are centred by rotating rows; batched and large (the parallel path) they give what
    /// one transform at a time gives, and item 0 what the direct DFT gives.
    func testOddSizesBatchedAndLargeMatchOneAtATime() throws {
        for (shape, batch) in [([5, 7], 3), ([99, 80], 16), ([9, 4, 7], 2)] {
            let n = shape.reduce(1, *)
            let x = random(2 * n * batch, seed: UInt64(n + batch))
            var all = x
            try FFTPlan.plan(shape: shape, batch: batch).forward(&all)
            for b in 0..<batch {
                var one = Array(x[(2 * b * n)..<(2 * (b + 1) * n)])
                try FFTPlan.plan(shape: shape).forward(&one)
                for i in 0..<one.count { XCTAssertEqual(all[2 * b * n + i], one[i], accuracy: 1e-5, "\(shape) × \(batch), item \(b)") }
            }
            if n <= 300 {
                let r = reference(Array(x[0..<(2 * n)]), shape: shape, inverse: false)
                for i in 0..<(2 * n) { XCTAssertEqual(all[i], r[i], accuracy: 1e-5, "\(shape) vs direct DFT") }
            }
            var back = all
            try FFTPlan.plan(shape: shape, batch: batch).inverse(&back)
            for i in 0..<back.count { XCTAssertEqual(back[i], x[i], accuracy: 1e-4, "\(shape) round trip") }
        }
    }

    func testOrthonormalAndInvertibleBatched() throws {
        let shape = [16, 12], batch = 3
        let x = random(2 * 16 * 12 * batch, seed: 9)
        var y = x
        let p = try FFTPlan.plan(shape: shape, batch: batch)
        try p.forward(&y)
        let e0 = x.reduce(0) { $0 + Double($1 * $1) }, e1 = y.reduce(0) { $0 + Double($1 * $1) }
        XCTAssertEqual(e1, e0, accuracy: 1e-4 * e0)   // Parseval: orthonormal
        try p.inverse(&y)
        for i in 0..<x.count { XCTAssertEqual(y[i], x[i], accuracy: 1e-5) }
        // batch items are independent: transform of item 1 alone equals item 1 of the batch
        var one = Array(x[(2 * 192)..<(4 * 192)])
        try FFTPlan.plan(shape: shape).forward(&one)
        var all = x
        try p.forward(&all)
        for i in 0..<one.count { XCTAssertEqual(one[i], all[2 * 192 + i], accuracy: 1e-6) }
    }

    func testCentredDeltaIsFlat() throws {
        // A delta at the centre (index n/2) transforms to a constant 1/sqrt(N) (real).
        var x = [Float](repeating: 0, count: 2 * 64)
        x[2 * (4 * 8 + 4)] = 1
        try FFTPlan.plan(shape: [8, 8]).forward(&x)
        for i in 0..<64 { XCTAssertEqual(x[2 * i], 0.125, accuracy: 1e-6); XCTAssertEqual(x[2 * i + 1], 0, accuracy: 1e-6) }
    }

    /// Slices transformed at once with one cached plan (each call in its own work buffer) give
    /// exactly what one at a time gives.
    func testConcurrentCallsOnOnePlanMatchSequentialOnes() throws {
        let plan = try FFTPlan.plan(shape: [36, 30], batch: 3)
        let inputs = (0..<8).map { k in (0..<(2 * 36 * 30 * 3)).map { Float(sin(Double($0 * (k + 3)) * 0.37)) } }
        let sequential = try inputs.map { x -> [Float] in var y = x; try plan.forward(&y); return y }
        let results = ConcurrentResults(count: inputs.count)
        DispatchQueue.concurrentPerform(iterations: inputs.count) { k in
            var y = inputs[k]
            try? plan.forward(&y)
            results.set(k, y)
        }
        XCTAssertEqual(results.values, sequential)
    }

    func testPlanningFromTheEnvironment() {
        XCTAssertTrue(FFTPlanning(environment: [:]).measure)
        XCTAssertFalse(FFTPlanning(environment: ["GANTRY_FFTW_PLANNER": "estimate"]).measure)
        XCTAssertEqual(FFTPlanning(environment: ["GANTRY_FFTW_WISDOM": "/tmp/w"]).wisdomPath, "/tmp/w")
    }

    func testWrongSizeIsAnError() throws {
        var x = [Float](repeating: 0, count: 10)
        XCTAssertThrowsError(try FFTPlan.plan(shape: [4, 4]).forward(&x))
        XCTAssertThrowsError(try FFTPlan.plan(shape: [0]))
    }
}

/// Results written from concurrent iterations, each to its own slot.
final class ConcurrentResults: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [[Float]]
    init(count: Int) { slots = Array(repeating: [], count: count) }
    func set(_ i: Int, _ v: [Float]) { lock.lock(); slots[i] = v; lock.unlock() }
    var values: [[Float]] { lock.lock(); defer { lock.unlock() }; return slots }
}
