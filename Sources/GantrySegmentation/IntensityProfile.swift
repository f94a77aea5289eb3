import Foundation
import GantryCore

/// What a model's inputs look like after its normalisation: per channel, quantiles of the z-scored
/// brain voxels, and the correlation of every pair of channels. A network answers anything it is
/// given; comparing this profile with the training subjects' says when the answer is a guess (a T1
/// given in place of a FLAIR, a CT, an unnormalised or half-empty image).
public struct IntensityProfile: Codable, Sendable, Equatable {
    /// The quantiles measured per channel.
    public static let levels: [Double] = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]
    /// At most this many voxels (an even stride through the volume) are sorted per channel.
    static let maxSamples = 400_000

    /// `quantiles[c][q]`: quantile `levels[q]` of channel c's non-zero (brain) voxels, z-scored.
    public var quantiles: [[Double]]
    /// Pearson correlation of channels i < j (in the order (0,1), (0,2), …, (1,2), …) over the voxels
    /// non-zero in both.
    public var correlations: [Double]

    /// The profile of channels already z-scored inside the brain (`IntensityNormalisation`).
    public init(normalised channels: [[Float]]) {
        let n = channels.first?.count ?? 0
        let stride = max(1, n / Self.maxSamples)
        quantiles = channels.map { c in
            var v: [Float] = []
            v.reserveCapacity(n / stride + 1)
            for o in Swift.stride(from: 0, to: n, by: stride) where c[o] != 0 { v.append(c[o]) }
            v.sort()
            guard !v.isEmpty else { return Self.levels.map { _ in 0 } }
            return Self.levels.map { Double(v[min(v.count - 1, Int(($0 * Double(v.count - 1)).rounded()))]) }
        }
        var corr: [Double] = []
        for i in 0..<channels.count { for j in (i + 1)..<max(i + 1, channels.count) {
            let a = channels[i], b = channels[j]
            var sa = 0.0, sb = 0.0, saa = 0.0, sbb = 0.0, sab = 0.0, m = 0.0
            for o in Swift.stride(from: 0, to: n, by: stride) where a[o] != 0 && b[o] != 0 {
                let x = Double(a[o]), y = Double(b[o])
                sa += x; sb += y; saa += x * x; sbb += y * y; sab += x * y; m += 1
            }
            let va = saa - sa * sa / max(m, 1), vb = sbb - sb * sb / max(m, 1)
            corr.append(m > 1 && va > 0 && vb > 0 ? (sab - sa * sb / m) / (va * vb).squareRoot() : 0)
        } }
        correlations = corr
    }

    public init(quantiles: [[Double]], correlations: [Double]) { self.quantiles = quantiles; self.correlations = correlations }
}

/// The span of the training subjects' profiles, stored in a checkpoint (`intensity_range`), and the
/// rule that calls an input outside it.
public struct IntensityRange: Codable, Sendable, Equatable {
    public var low: IntensityProfile
    public var high: IntensityProfile
    /// How many training subjects it spans.
    public var subjects: Int

    /// Slack around the training span: a quarter of the span, and at least 0.5 (z-score units) for
    /// quantiles and 0.15 for correlations — a handful of training subjects do not show all healthy
    /// variation, and a flag that cries wolf on ordinary scans would be ignored.
    static let relativeMargin = 0.25, quantileMargin = 0.5, correlationMargin = 0.15

    /// The span of `profiles`, taken from `subjects` training subjects (default: one profile each;
    /// a subject shown both whole and skull-stripped gives two).
    public init(covering profiles: [IntensityProfile], subjects: Int? = nil) throws {
        guard let first = profiles.first else { throw GantryError.invalidArgument("no profiles to span") }
        guard profiles.allSatisfy({ $0.quantiles.count == first.quantiles.count && $0.correlations.count == first.correlations.count }) else {
            throw GantryError.invalidArgument("profiles with different channel counts")
        }
        func span(_ pick: (IntensityProfile) -> [Double], _ f: (Double, Double) -> Double) -> [Double] {
            profiles.dropFirst().reduce(pick(first)) { acc, p in zip(acc, pick(p)).map(f) }
        }
        let qLow = first.quantiles.indices.map { c in span({ $0.quantiles[c] }, min) }, qHigh = first.quantiles.indices.map { c in span({ $0.quantiles[c] }, max) }
        low = IntensityProfile(quantiles: qLow, correlations: span(\.correlations, min))
        high = IntensityProfile(quantiles: qHigh, correlations: span(\.correlations, max))
        self.subjects = subjects ?? profiles.count
    }

    /// One phrase per feature of `p` outside the range (empty: the input looks like the training data).
    public func outliers(of p: IntensityProfile, contrasts: [String]) -> [String] {
        guard p.quantiles.count == low.quantiles.count, p.correlations.count == low.correlations.count else {
            return ["\(p.quantiles.count) channels, trained on \(low.quantiles.count)"]
        }
        func name(_ c: Int) -> String { contrasts.indices.contains(c) ? contrasts[c] : "channel \(c + 1)" }
        func outside(_ v: Double, _ lo: Double, _ hi: Double, floor: Double) -> Bool {
            let m = max(Self.relativeMargin * (hi - lo), floor)
            return v < lo - m || v > hi + m
        }
        var out: [String] = []
        for c in p.quantiles.indices {
            for (q, level) in IntensityProfile.levels.enumerated() {
                let v = p.quantiles[c][q], lo = low.quantiles[c][q], hi = high.quantiles[c][q]
                if outside(v, lo, hi, floor: Self.quantileMargin) {
                    out.append(String(format: "%@ %d%% quantile %.2f (training %.2f…%.2f)", name(c), Int((level * 100).rounded()), v, lo, hi))
                }
            }
        }
        var k = 0
        for i in p.quantiles.indices { for j in (i + 1)..<max(i + 1, p.quantiles.count) {
            let v = p.correlations[k], lo = low.correlations[k], hi = high.correlations[k]
            if outside(v, lo, hi, floor: Self.correlationMargin) {
                out.append(String(format: "%@–%@ correlation %.2f (training %.2f…%.2f)", name(i), name(j), v, lo, hi))
            }
            k += 1
        } }
        return out
    }

    /// The checkpoint metadata value (compact JSON) and its reader.
    public var metadataValue: String {
        get throws {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            return String(decoding: try enc.encode(self), as: UTF8.self)
        }
    }

    public static func fromMetadata(_ text: String, path: String) throws -> IntensityRange {
        guard let r = try? JSONDecoder().decode(IntensityRange.self, from: Data(text.utf8)),
              r.low.quantiles.allSatisfy({ $0.count == IntensityProfile.levels.count }),
              r.high.quantiles.count == r.low.quantiles.count, r.high.correlations.count == r.low.correlations.count,
              (r.low.quantiles.flatMap { $0 } + r.high.quantiles.flatMap { $0 } + r.low.correlations + r.high.correlations).allSatisfy(\.isFinite) else {
            throw GantryError.invalidFile(path: path, problem: "intensity_range metadata is not a valid intensity range")
        }
        return r
    }
}
