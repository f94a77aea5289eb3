import Foundation
import GantryCore

/// What an accelerated acquisition does to an image, simulated from the image alone: each axial
/// slice is taken to k-space (centred orthonormal 2D FFT), the phase-encoding lines a sampling mask
/// leaves out are zeroed, and the magnitude of the inverse is the zero-filled reconstruction —
/// aliasing along the phase-encoding axis and the blur of a smaller k-space. A training set of
/// reconstructions, at no cost of coils or solvers (a segmentation network that only ever saw clean
/// images reads such artefacts as lesions).
public enum SimulatedUndersampling {
    /// The masks a segmentation network is shown reconstructions of in training
    /// (`gantry train segment --degraded`): three kinds, 4–8×, 4–8 % centre — kinds and rates
    /// other than the accelerated study's random 2/4/8× with 8 % centre, so that study stays a test.
    public static let trainingMasks = [
        SamplingMask(kind: .equispaced, acceleration: 4, centerFraction: 0.08, seed: 101),
        SamplingMask(kind: .gaussian1d, acceleration: 6, centerFraction: 0.06, seed: 202),
        SamplingMask(kind: .random, acceleration: 8, centerFraction: 0.04, seed: 303),
    ]

    /// The zero-filled magnitude of `image` undersampled by `mask` along the volume's first axis (x,
    /// the mask's columns, as Gantry's phantom k-space is acquired); slice z uses `mask.seed + z`,
    /// so the slices do not all alias alike. Same shape and geometry as `image`.
    public static func zeroFilled(_ image: Volume, mask: SamplingMask) throws -> Volume {
        let s = image.spatialShape
        let (nx, ny, nz) = (s[0], s[1], s[2])
        guard image.frames == 1 else { throw GantryError.invalidArgument("simulated undersampling takes a 3D image, got \(image.shape)") }
        guard nx > 1, ny > 1 else { throw GantryError.invalidArgument("simulated undersampling needs slices of at least 2×2, got \(nx)×\(ny)") }
        let plane = nx * ny
        var buffer = [Float](repeating: 0, count: 2 * plane * nz)
        for i in 0..<(plane * nz) { buffer[2 * i] = image.data[i].isFinite ? image.data[i] : 0 }
        let fft = try FFTPlan.plan(shape: [ny, nx], batch: nz)
        try fft.forward(&buffer)
        for z in 0..<nz {
            var m = mask
            m.seed = mask.seed &+ UInt64(z)
            let lines = try m.make(ny: ny, nx: nx)
            for i in 0..<plane where lines[i] == 0 {
                buffer[2 * (z * plane + i)] = 0; buffer[2 * (z * plane + i) + 1] = 0
            }
        }
        try fft.inverse(&buffer)
        var out = image
        for i in 0..<(plane * nz) { out.data[i] = (buffer[2 * i] * buffer[2 * i] + buffer[2 * i + 1] * buffer[2 * i + 1]).squareRoot() }
        return out
    }
}
