import GantryCore
import GantryIO

extension KSpaceFile {
    /// The data with readout oversampling removed before reconstruction, as scanners' own pipelines
    /// do first (Gadgetron's RemoveROOversamplingGadget): each coil image is cropped to the centre
    /// reconSpace rows (fastMRI's `center_crop` start, ⌊(size − crop)/2⌋) and transformed back. The
    /// removed band lies outside the field of view the images are reported on, so every method gives
    /// the same image on half the pixels. Coil maps from the file are cropped alike. nil when there is
    /// nothing to remove, or a 2D mask that differs between rows makes the crop change what was sampled.
    public func removingReadoutOversampling() throws -> KSpaceFile? {
        guard let h = header else { return nil }
        let rows = shape[shape.count - 2], nx = shape[shape.count - 1], keep = h.recon.matrix[0]
        guard keep < rows, keep >= 1 else { return nil }
        if let m = mask, m.data.count == rows * nx {
            for r in 1..<rows where m.data[(r * nx)..<((r + 1) * nx)] != m.data[0..<nx] { return nil }
        }
        let start = (rows - keep) / 2, planes = slices * coils
        let inverse = try FFTPlan.plan(shape: [rows, nx], batch: 1), forward = try FFTPlan.plan(shape: [keep, nx], batch: 1)
        var out = [Float](repeating: 0, count: 2 * planes * keep * nx)
        let failure = LockedValue<Error?>(nil)
        kspace.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let (s, d) = (src.baseAddress!, dst.baseAddress!)
                Parallel.forEach(planes) { p in
                    do {
                        var plane = Array(UnsafeBufferPointer(start: s + 2 * p * rows * nx, count: 2 * rows * nx))
                        try inverse.inverse(&plane)
                        var cropped = Array(plane[(2 * start * nx)..<(2 * (start + keep) * nx)])
                        try forward.forward(&cropped)
                        cropped.withUnsafeBufferPointer { c in (d + 2 * p * keep * nx).update(from: c.baseAddress!, count: c.count) }
                    } catch { failure.value = error }
                }
            }
        }
        if let e = failure.value { throw e }
        var file = self
        file.shape = Array(shape.dropLast(2)) + [keep, nx]
        file.kspace = out
        if let m = mask, m.data.count == rows * nx { file.mask = ([keep, nx], Array(m.data[0..<(keep * nx)])) }
        if let maps = sensitivityMaps {
            var cropped = [Float](); cropped.reserveCapacity(2 * planes * keep * nx)
            for p in 0..<planes {
                let from: Int = 2 * (p * rows + start) * nx, to: Int = from + 2 * keep * nx
                cropped += maps.data[from..<to]
            }
            file.sensitivityMaps = (file.shape, cropped)
        }
        return file
    }
}
