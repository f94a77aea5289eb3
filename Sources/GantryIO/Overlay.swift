import GantryCore

/// Slice pictures for reports and READMEs: a grey-scale slice (window from 0, or the 1st percentile
/// when values go negative, to the 99.5th percentile of the slice's non-zero voxels) with an optional label overlay. Axial slices are shown in the
/// neurological convention (subject's left on the picture's left, anterior up), as nilearn does.
public enum Overlay {
    /// Label colours (BraTS: 1 necrotic core red, 2 oedema green, 3 enhancing yellow; more cycle).
    public static let palette: [(UInt8, UInt8, UInt8)] = [(230, 40, 40), (40, 200, 60), (250, 220, 40), (60, 120, 250), (220, 60, 220), (40, 220, 220)]

    public enum Plane: String, Sendable { case axial, coronal, sagittal }

    /// RGB pixels of one slice (`index` nil = middle), returned with its width and height.
    public static func render(_ image: Volume, labels: Volume? = nil, plane: Plane = .axial, index: Int? = nil,
                              alpha: Float = 0.45, zoom: Int = 1) throws -> (width: Int, height: Int, rgb: [UInt8]) {
        let v = try image.reorientedToRAS()
        let l = try labels.map { try $0.reorientedToRAS() }
        if let l, l.spatialShape != v.spatialShape { throw GantryError.invalidArgument("overlay labels grid \(l.spatialShape) differs from image \(v.spatialShape)") }
        let s = v.spatialShape
        // (columns axis, rows axis, slice axis)
        let (ca, ra, sa) = plane == .axial ? (0, 1, 2) : plane == .coronal ? (0, 2, 1) : (1, 2, 0)
        let slice = min(max(index ?? s[sa] / 2, 0), s[sa] - 1)
        let w = s[ca], h = s[ra]
        var values = [Float](repeating: 0, count: w * h)
        var labelValues = [Int](repeating: 0, count: w * h)
        for r in 0..<h { for c in 0..<w {
            var p = [0, 0, 0]
            p[ca] = c; p[ra] = h - 1 - r; p[sa] = slice   // top row = most anterior/superior
            let o = p[0] + s[0] * (p[1] + s[1] * p[2])
            values[r * w + c] = v.data[o]
            if let l { labelValues[r * w + c] = Int(l.data[o].rounded()) }
        } }
        let nonzero = values.filter { $0 != 0 && !$0.isNaN }.sorted()
        // Magnitude-like images (no negative values) start the window at 0, as viewers do.
        let lo = nonzero.isEmpty || nonzero[0] >= 0 ? 0 : nonzero[nonzero.count / 100]
        let hi = nonzero.isEmpty ? 1 : nonzero[(nonzero.count * 995) / 1000]
        let scale = hi > lo ? 255 / (hi - lo) : 0
        var rgb = [UInt8](repeating: 0, count: w * h * 3)
        for i in 0..<(w * h) {
            let g = max(0, min(255, (values[i] - lo) * scale))
            var px = (g, g, g)
            let lab = labelValues[i]
            if lab > 0 {
                let col = palette[(lab - 1) % palette.count]
                px = (g * (1 - alpha) + Float(col.0) * alpha, g * (1 - alpha) + Float(col.1) * alpha, g * (1 - alpha) + Float(col.2) * alpha)
            }
            rgb[3 * i] = UInt8(px.0); rgb[3 * i + 1] = UInt8(px.1); rgb[3 * i + 2] = UInt8(px.2)
        }
        let z = max(1, min(zoom, 16))
        if z == 1 { return (w, h, rgb) }
        // Pixel replication keeps voxels crisp when enlarged.
        var big = [UInt8](repeating: 0, count: w * z * h * z * 3)
        for r in 0..<(h * z) { for c in 0..<(w * z) {
            let src = 3 * ((r / z) * w + c / z), dst = 3 * (r * w * z + c)
            big[dst] = rgb[src]; big[dst + 1] = rgb[src + 1]; big[dst + 2] = rgb[src + 2]
        } }
        return (w * z, h * z, big)
    }

    /// Writes one slice picture as PNG.
    public static func writePNG(_ path: String, image: Volume, labels: Volume? = nil, plane: Plane = .axial, index: Int? = nil, zoom: Int = 1) throws {
        let r = try render(image, labels: labels, plane: plane, index: index, zoom: zoom)
        try PNG.write(path, width: r.width, height: r.height, pixels: r.rgb, rgb: true)
    }

    /// Several renderings of one slice side by side (prediction | reference), a white gap between.
    public static func writePanels(_ path: String, image: Volume, labels: [Volume?], plane: Plane = .axial, index: Int? = nil, zoom: Int = 1) throws {
        let panels = try labels.map { try render(image, labels: $0, plane: plane, index: index, zoom: zoom) }
        guard let first = panels.first else { return }
        let gap = 8, w = panels.count * first.width + (panels.count - 1) * gap, h = first.height
        var rgb = [UInt8](repeating: 255, count: w * h * 3)
        for (p, panel) in panels.enumerated() {
            let x0 = p * (first.width + gap)
            for r in 0..<h { for c in 0..<first.width {
                let src = 3 * (r * first.width + c), dst = 3 * (r * w + x0 + c)
                rgb[dst] = panel.rgb[src]; rgb[dst + 1] = panel.rgb[src + 1]; rgb[dst + 2] = panel.rgb[src + 2]
            } }
        }
        try PNG.write(path, width: w, height: h, pixels: rgb, rgb: true)
    }

    /// Two images of one grid as a checkerboard (tiles of `tile` voxels alternate between them): how
    /// registration results are judged by eye, edges continuing across tiles where they agree.
    public static func writeCheckerboard(_ path: String, _ a: Volume, _ b: Volume, plane: Plane = .axial, index: Int? = nil, zoom: Int = 1, tile: Int = 8) throws {
        let ra = try render(a, plane: plane, index: index, zoom: zoom), rb = try render(b, plane: plane, index: index, zoom: zoom)
        guard ra.width == rb.width, ra.height == rb.height else { throw GantryError.invalidArgument("checkerboard images must share one grid") }
        let t = max(1, tile * max(1, zoom))
        var rgb = ra.rgb
        for r in 0..<ra.height { for c in 0..<ra.width where (r / t + c / t) % 2 == 1 {
            let o = 3 * (r * ra.width + c)
            rgb[o] = rb.rgb[o]; rgb[o + 1] = rb.rgb[o + 1]; rgb[o + 2] = rb.rgb[o + 2]
        } }
        try PNG.write(path, width: ra.width, height: ra.height, pixels: rgb, rgb: true)
    }

    /// The edges of the picture, as letters for a report: (left, right, top, bottom).
    public static func orientation(_ plane: Plane) -> (String, String, String, String) {
        switch plane {
        case .axial: return ("L", "R", "A", "P")      // neurological: subject's left on the left
        case .coronal: return ("L", "R", "S", "I")
        case .sagittal: return ("P", "A", "S", "I")
        }
    }
}
