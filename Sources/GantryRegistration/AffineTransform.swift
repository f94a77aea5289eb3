import Foundation
import GantryCore
import GantryIO

/// A world-space affine transform for registration, parameterised as ANTs/ITK do for optimisation:
/// x ↦ C + t + R·Sh·S·(x − C) with C a fixed centre (mm), t translation (mm), R rotation from Euler
/// angles (rad, about x then y then z), S = diag(exp(log-scales)), Sh upper shear.
/// It maps a point of the *fixed* image's world space to the moving image's world space (the
/// direction needed to pull moving intensities onto the fixed grid), as ITK transforms do.
public struct AffineTransform: Sendable, Equatable {
    /// translation(3), rotation(3), log-scale(3), shear(3)
    public var parameters: [Double]
    public var centre: [Double]

    public init(parameters: [Double] = [Double](repeating: 0, count: 12), centre: [Double] = [0, 0, 0]) {
        self.parameters = parameters + Array(repeating: 0, count: max(0, 12 - parameters.count))
        self.centre = centre
    }

    /// The 4×4 matrix (fixed world → moving world).
    public var matrix: Affine {
        let p = parameters
        let (cx, sx, cy, sy, cz, sz) = (cos(p[3]), sin(p[3]), cos(p[4]), sin(p[4]), cos(p[5]), sin(p[5]))
        // R = Rz · Ry · Rx
        let r = [cz * cy, cz * sy * sx - sz * cx, cz * sy * cx + sz * sx,
                 sz * cy, sz * sy * sx + cz * cx, sz * sy * cx - cz * sx,
                 -sy, cy * sx, cy * cx]
        let s = [exp(p[6]), exp(p[7]), exp(p[8])]
        let sh = [1, p[9], p[10], 0, 1, p[11], 0, 0, 1]
        var m = [Double](repeating: 0, count: 9)   // R · Sh · S
        for i in 0..<3 { for j in 0..<3 {
            var acc = 0.0
            for k in 0..<3 { acc += r[i * 3 + k] * sh[k * 3 + j] }
            m[i * 3 + j] = acc * s[j]
        } }
        var a = Affine.identity
        for i in 0..<3 {
            for j in 0..<3 { a[i, j] = m[i * 3 + j] }
            a[i, 3] = centre[i] + p[i] - (m[i * 3] * centre[0] + m[i * 3 + 1] * centre[1] + m[i * 3 + 2] * centre[2])
        }
        return a
    }

    /// Number of parameters each transform type optimises.
    public enum Kind: String, Sendable, CaseIterable { case rigid, affine }
}

/// ITK/ANTs text transforms. ITK works in LPS; Gantry in RAS: the matrix is conjugated by
/// diag(−1, −1, 1). Written as `AffineTransform_double_3_3` with a zero centre (ITK's fixed parameters).
public enum ITKTransformFile {
    public static func text(_ a: Affine) -> String {
        let f = Affine.scaling([-1, -1, 1])
        let l = f * a * f
        let params = (0..<3).flatMap { i in (0..<3).map { j in l[i, j] } } + (0..<3).map { l[$0, 3] }
        return """
        #Insight Transform File V1.0
        #Transform 0
        Transform: AffineTransform_double_3_3
        Parameters: \(params.map { String(format: "%.10g", $0) }.joined(separator: " "))
        FixedParameters: 0 0 0

        """
    }

    /// Parses an ITK affine text transform (MatrixOffsetTransformBase family) into a RAS affine.
    public static func parse(_ text: String, path: String) throws -> Affine {
        var params: [Double] = [], fixed: [Double] = [0, 0, 0]
        for line in text.split(separator: "\n") {
            if line.hasPrefix("Parameters:") { params = line.dropFirst(11).split(separator: " ").compactMap { Double($0) } }
            if line.hasPrefix("FixedParameters:") { fixed = line.dropFirst(16).split(separator: " ").compactMap { Double($0) } }
        }
        return try affine(parameters: params, fixed: fixed, path: path)
    }

    /// An ITK affine file in either form: text (`#Insight Transform File`) or ANTs'
    /// `*GenericAffine.mat` (MATLAB v4 binary, as ITK's MatlabTransformIO writes it).
    public static func read(_ path: String) throws -> Affine {
        let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int ?? 0
        guard size <= 1 << 20 else { throw GantryError.invalidFile(path: path, problem: "\(size) bytes is too large for an affine transform") }
        let bytes = try FileIO.readAll(path)
        if bytes.starts(with: Array("#Insight".utf8)) || !path.hasSuffix(".mat") {
            guard let text = String(bytes: bytes, encoding: .utf8) else { throw GantryError.invalidFile(path: path, problem: "not an ITK text transform") }
            return try parse(text, path: path)
        }
        return try parseMat(bytes, path: path)
    }

    /// MATLAB v4 variables: per variable a 20-byte header (type, rows, columns, imaginary flag, name
    /// length), the name, then rows × columns values, column-major. ITK stores the 12 parameters under
    /// the transform's class name and the centre under `fixed`.
    public static func parseMat(_ bytes: [UInt8], path: String) throws -> Affine {
        var params: [Double] = [], fixed: [Double] = [0, 0, 0]
        var at = 0
        func int32(_ i: Int) -> Int { Int(Int32(littleEndian: bytes[i..<(i + 4)].withUnsafeBytes { $0.loadUnaligned(as: Int32.self) })) }
        while at + 20 <= bytes.count {
            let type = int32(at), rows = int32(at + 4), cols = int32(at + 8), imaginary = int32(at + 12), nameLength = int32(at + 16)
            // Little-endian, full matrix, real, double (P = 0) or float (P = 1) only.
            guard type == 0 || type == 10, imaginary == 0, (1...64).contains(nameLength), (0...16).contains(rows), (0...16).contains(cols) else {
                throw GantryError.invalidFile(path: path, problem: "not an ITK/ANTs .mat transform (MATLAB v4, little-endian, real)")
            }
            let width = type == 0 ? 8 : 4
            let start = at + 20 + nameLength, count = rows * cols
            guard start + count * width <= bytes.count else { throw GantryError.invalidFile(path: path, problem: "truncated .mat transform") }
            let name = String(decoding: bytes[(at + 20)..<(at + 20 + nameLength)].prefix { $0 != 0 }, as: UTF8.self)
            let values: [Double] = (0..<count).map { k in
                let o = start + k * width
                return bytes[o..<(o + width)].withUnsafeBytes { type == 0 ? $0.loadUnaligned(as: Double.self) : Double($0.loadUnaligned(as: Float.self)) }
            }
            if name == "fixed" { fixed = values } else if name.contains("Transform") { params = values }
            at = start + count * width
        }
        return try affine(parameters: params, fixed: fixed, path: path)
    }

    /// ITK's parameters (3×3 matrix row by row, translation) and centre, LPS, as a RAS affine.
    static func affine(parameters params: [Double], fixed: [Double], path: String) throws -> Affine {
        guard params.count == 12, fixed.count >= 3 else { throw GantryError.invalidFile(path: path, problem: "not a 3D ITK affine transform (needs 12 parameters)") }
        guard (params + fixed).allSatisfy({ $0.isFinite }) else { throw GantryError.invalidFile(path: path, problem: "the transform has non-finite parameters") }
        var l = Affine.identity
        for i in 0..<3 { for j in 0..<3 { l[i, j] = params[i * 3 + j] } }
        // offset = translation + centre − M·centre
        for i in 0..<3 {
            l[i, 3] = params[9 + i] + fixed[i] - (0..<3).reduce(0.0) { $0 + l[i, $1] * fixed[$1] }
        }
        let f = Affine.scaling([-1, -1, 1])
        return f * l * f
    }
}
