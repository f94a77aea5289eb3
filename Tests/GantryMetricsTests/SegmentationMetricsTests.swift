import GantryCore
@testable import GantryMetrics
import XCTest

final class SegmentationMetricsTests: XCTestCase {
    func sphere(_ s: [Int], centre: [Double], radius: Double) -> [Bool] {
        var m = [Bool](repeating: false, count: s.reduce(1, *))
        for k in 0..<s[2] { for j in 0..<s[1] { for i in 0..<s[0] {
            let d = pow(Double(i) - centre[0], 2) + pow(Double(j) - centre[1], 2) + pow(Double(k) - centre[2], 2)
            m[i + s[0] * (j + s[1] * k)] = d <= radius * radius
        } } }
        return m
    }

    /// Direct O(n²) directed-distance computation (the independent reference for the EDT path).
    func bruteHD95(_ a: [Bool], _ b: [Bool], _ s: [Int], _ sp: [Double]) -> Double {
        let sa = SegmentationMetrics.surface(a, s), sb = SegmentationMetrics.surface(b, s)
        func pts(_ m: [Bool]) -> [(Double, Double, Double)] {
            var p = [(Double, Double, Double)]()
            for k in 0..<s[2] { for j in 0..<s[1] { for i in 0..<s[0] where m[i + s[0] * (j + s[1] * k)] {
                p.append((Double(i) * sp[0], Double(j) * sp[1], Double(k) * sp[2]))
            } } }
            return p
        }
        let pa = pts(sa), pb = pts(sb)
        func directed(_ x: [(Double, Double, Double)], _ y: [(Double, Double, Double)]) -> [Double] {
            x.map { p in y.map { q in ((p.0 - q.0) * (p.0 - q.0) + (p.1 - q.1) * (p.1 - q.1) + (p.2 - q.2) * (p.2 - q.2)).squareRoot() }.min()! }
        }
        return max(SegmentationMetrics.percentile(directed(pa, pb), 95), SegmentationMetrics.percentile(directed(pb, pa), 95))
    }

    func testDistanceTransformMatchesBruteForce() {
        let s = [9, 7, 6], sp = [1.0, 2.0, 0.7]
        var f = [Bool](repeating: false, count: 378)
        for idx in [3, 100, 222, 377, 150] { f[idx] = true }
        let d = DistanceTransform.euclidean(f, shape: s, spacing: sp)
        for o in 0..<378 {
            let (i, j, k) = (o % 9, (o / 9) % 7, o / 63)
            var best = Double.infinity
            for q in 0..<378 where f[q] {
                let (a, b, c) = (q % 9, (q / 9) % 7, q / 63)
                best = min(best, (pow(Double(i - a) * sp[0], 2) + pow(Double(j - b) * sp[1], 2) + pow(Double(k - c) * sp[2], 2)).squareRoot())
            }
            XCTAssertEqual(d[o], best, accuracy: 1e-9)
        }
    }

    func testDiceAndHD95AgainstBruteForce() throws {
        let s = [24, 22, 20], sp = [1.0, 1.5, 2.0]
        let a = sphere(s, centre: [11, 10, 9], radius: 6)
        let b = sphere(s, centre: [13, 10, 10], radius: 5)
        let m = try SegmentationMetrics.compare(pred: a, ref: b, shape: s, affine: .scaling(sp))
        let tp = zip(a, b).filter { $0 && $1 }.count
        XCTAssertEqual(m.tp, tp)
        XCTAssertEqual(m.dice, 2 * Double(tp) / Double(a.filter { $0 }.count + b.filter { $0 }.count), accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(m.hd95), bruteHD95(a, b, s, sp), accuracy: 1e-9)
        XCTAssertEqual(m.volumeRefML, Double(b.filter { $0 }.count) * 3 / 1000, accuracy: 1e-12)
    }

    func testEmptyMaskRule() throws {
        let s = [4, 4, 4], none = [Bool](repeating: false, count: 64)
        var one = none; one[21] = true
        let both = try SegmentationMetrics.compare(pred: none, ref: none, shape: s, affine: .identity)
        XCTAssertEqual(both.dice, 1); XCTAssertEqual(both.hd95, 0)
        let miss = try SegmentationMetrics.compare(pred: none, ref: one, shape: s, affine: .identity)
        XCTAssertEqual(miss.dice, 0); XCTAssertNil(miss.hd95); XCTAssertEqual(miss.fn, 1)
        let same = try SegmentationMetrics.compare(pred: one, ref: one, shape: s, affine: .identity)
        XCTAssertEqual(same.dice, 1); XCTAssertEqual(same.hd95, 0)
    }

    func testLabelMapsAndBraTSRegions() throws {
        let ref = try Volume(shape: [4, 1, 1], affine: .identity, data: [0, 1, 2, 3])
        let pred = try Volume(shape: [4, 1, 1], affine: .identity, data: [0, 1, 3, 3])
        let r = Dictionary(uniqueKeysWithValues: try SegmentationMetrics.compare(pred: pred, ref: ref, labels: [1, 2, 3], regions: BraTSRegions.all))
        XCTAssertEqual(r["1"]?.dice, 1)
        XCTAssertEqual(r["2"]?.dice, 0)
        XCTAssertEqual(try XCTUnwrap(r["3"]?.dice), 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(r["WT"]?.dice, 1)
        XCTAssertEqual(try XCTUnwrap(r["TC"]?.dice), 0.8, accuracy: 1e-12)   // pred {1,3,3} vs ref {1,3}: tp 2, fp 1
        let moved = try Volume(shape: [4, 1, 1], affine: .scaling([2, 1, 1]), data: [0, 1, 2, 3])
        XCTAssertThrowsError(try SegmentationMetrics.compare(pred: moved, ref: ref, labels: [1]))
    }

    /// Label maps are scored on each target's bounding box; the numbers must be those of the whole
    /// grid (labels touching the grid's faces, a label only in one map, a region of several labels).
    func testPerLabelBoxesGiveTheWholeGridMetrics() throws {
        let shape = [20, 18, 16]
        var g = SeededRandom(seed: 5)
        func blobs() -> [Float] {
            var d = [Float](repeating: 0, count: shape.reduce(1, *))
            for label in 1...5 {
                let c = (0..<3).map { axis in Int(g.uniform(0, 1) * Double(shape[axis])) }
                let r = 2 + Int(g.uniform(0, 4))
                for k in 0..<shape[2] { for j in 0..<shape[1] { for i in 0..<shape[0] where abs(i - c[0]) <= r && abs(j - c[1]) <= r && abs(k - c[2]) <= r {
                    d[i + shape[0] * (j + shape[1] * k)] = Float(label)
                } } }
            }
            return d
        }
        var predData = blobs(), refData = blobs()
        for o in 0..<shape[0] { predData[o] = 7 }  // a label only in the prediction, on a face of the grid
        refData[refData.count - 1] = 6              // and one only in the reference, in a corner
        let affine = Affine.scaling([1.5, 1, 2])
        let pred = try Volume(shape: shape, affine: affine, data: predData), ref = try Volume(shape: shape, affine: affine, data: refData)
        let regions = [("TC", [1, 3]), ("all", [1, 2, 3, 4, 5, 6, 7])]
        let boxed = try SegmentationMetrics.compare(pred: pred, ref: ref, labels: [1, 2, 3, 4, 5, 6, 7, 9], regions: regions)
        let targets: [(String, Set<Int>)] = (([1, 2, 3, 4, 5, 6, 7, 9] as [Int]).map { ("\($0)", Set([$0])) }) + regions.map { ($0.0, Set($0.1)) }
        XCTAssertEqual(boxed.map(\.0), targets.map(\.0))
        for ((name, set), (_, m)) in zip(targets, boxed) {
            let whole = try SegmentationMetrics.compare(pred: predData.map { set.contains(Int($0)) }, ref: refData.map { set.contains(Int($0)) }, shape: shape, affine: affine)
            XCTAssertEqual(m.tp, whole.tp, name); XCTAssertEqual(m.fp, whole.fp, name); XCTAssertEqual(m.fn, whole.fn, name)
            XCTAssertEqual(m.dice, whole.dice, name)
            XCTAssertEqual(m.hd95, whole.hd95, name)
            XCTAssertEqual(m.volumePredML, whole.volumePredML, accuracy: 1e-12, name)
        }
    }
}
