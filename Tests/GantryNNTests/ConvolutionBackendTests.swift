import GantryCore
@testable import GantryNN
import XCTest

/// The kernel chosen for the layers the shipped networks run, and that narrowing the allowed
/// kernels moves a layer to the next one in the rules' order (the kernels themselves are checked
/// against the definition in their own tests).
final class ConvolutionBackendTests: XCTestCase {
    /// A 3D convolution of `cin` → `cout` channels with cubic kernel `k` on a cube of `size`.
    func geometry(cin: Int, size: Int, k: Int = 3, stride: Int = 1, padding: Int = 1, dilation: Int = 1, depth: Int? = nil, kd: Int? = nil) -> Im2Col {
        let d = depth ?? size, kz = kd ?? k
        let out = { (n: Int, kk: Int) in (n + 2 * padding - dilation * (kk - 1) - 1) / stride + 1 }
        let pz = kz == 1 ? 0 : padding
        let od = (d + 2 * pz - dilation * (kz - 1) - 1) / stride + 1
        return Im2Col(c: cin, d: d, h: size, w: size, kd: kz, kh: k, kw: k, od: od, oh: out(size, k), ow: out(size, k),
                      stride: [stride, stride, stride], padding: [pz, padding, padding], dilation: [1, dilation, dilation])
    }

    func testForwardLayers() {
        // the CIRIM's 2D 3×3 dilation-2 layers (a 1-deep kernel on a 320² slice): Winograd
        let cirim = geometry(cin: 64, size: 320, padding: 2, dilation: 2, depth: 1, kd: 1)
        XCTAssertEqual(ConvolutionBackend.forward(cin: 64, cout: 64, groups: 1, geometry: cirim), .winograd)
        let noWinograd = ConvolutionKernels(winograd: false)
        XCTAssertEqual(ConvolutionBackend.forward(cin: 64, cout: 64, groups: 1, geometry: cirim, allowed: noWinograd), .shiftedGEMM)
        // wide 3D layers: per-tap GEMMs at stride 1, im2col when strided
        XCTAssertEqual(ConvolutionBackend.forward(cin: 64, cout: 64, groups: 1, geometry: geometry(cin: 64, size: 12)), .shiftedGEMM)
        XCTAssertEqual(ConvolutionBackend.forward(cin: 32, cout: 64, groups: 1, geometry: geometry(cin: 32, size: 24, stride: 2)), .im2colGEMM)
        // the U-Net's first layer (4 → 8 at 48³): a direct kernel, the GEMM without them
        let first = geometry(cin: 4, size: 48)
        let chosen = ConvolutionBackend.forward(cin: 4, cout: 8, groups: 1, geometry: first)
        if ConvolutionBackend.wideRegisters {
            XCTAssertEqual(chosen, .directRows(rowsPerJob: 2), "8 channels fill half a lane: row pairs, not the channel-vector kernels")
        } else {
            XCTAssertEqual(chosen, .directRows(rowsPerJob: 1))
        }
        XCTAssertEqual(ConvolutionBackend.forward(cin: 4, cout: 8, groups: 1, geometry: first, allowed: .init(direct: false)), .shiftedGEMM)
        // 32 → 32 at 64³: sliding two lanes with AVX-512's registers, else voxel-vector rows (64-voxel rows)
        let wide = geometry(cin: 32, size: 64)
        let expected: ConvolutionBackend = ConvolutionBackend.wideRegisters ? .sliding(lanes: 2) : .directRows(rowsPerJob: 1)
        XCTAssertEqual(ConvolutionBackend.forward(cin: 32, cout: 32, groups: 1, geometry: wide), expected)
        XCTAssertEqual(ConvolutionBackend.forward(cin: 32, cout: 32, groups: 1, geometry: wide, allowed: .init(channelVectors: false)),
                       .directRows(rowsPerJob: ConvolutionBackend.wideRegisters ? 2 : 1))
        // grouped convolutions never take the direct kernels
        XCTAssertEqual(ConvolutionBackend.forward(cin: 8, cout: 8, groups: 2, geometry: geometry(cin: 4, size: 48)), .shiftedGEMM)
    }

    func testTransposedAndWeightGradients() {
        XCTAssertEqual(ConvolutionBackend.transposed(kernel: [2, 2, 2], stride: [2, 2, 2], padding: [0, 0, 0], dilation: [1, 1, 1], outputPadding: [0, 0, 0],
                                                     cout: 64, groups: 1, width: 24), .blocks)
        let monaiUp = { (cout: Int, allowed: ConvolutionKernels) in
            ConvolutionBackend.transposed(kernel: [3, 3, 3], stride: [2, 2, 2], padding: [1, 1, 1], dilation: [1, 1, 1], outputPadding: [1, 1, 1],
                                          cout: cout, groups: 1, width: 48, allowed: allowed)
        }
        XCTAssertEqual(monaiUp(8, .init()), .directPhases)
        XCTAssertEqual(monaiUp(8, .init(direct: false)), .scatterGEMM)
        XCTAssertEqual(monaiUp(64, .init()), .scatterGEMM)

        let k3 = PaddedGeometry(d: 16, h: 16, w: 16, kd: 3, kh: 3, kw: 3, padding: [1, 1, 1], dilation: [1, 1, 1])
        XCTAssertEqual(ConvolutionBackend.weightGradient(coutG: 8, geometry: k3), .directRuns(rowPairs: ConvolutionBackend.wideRegisters))
        XCTAssertEqual(ConvolutionBackend.weightGradient(coutG: 24, geometry: k3),
                       ConvolutionBackend.wideRegisters ? .channelVectors : .directRuns(rowPairs: false))
        XCTAssertEqual(ConvolutionBackend.weightGradient(coutG: 64, geometry: k3), .shiftedGEMM)
        XCTAssertEqual(ConvolutionBackend.weightGradient(coutG: 8, geometry: k3, allowed: .init(direct: false)), .shiftedGEMM)
        let k5 = PaddedGeometry(d: 1, h: 32, w: 32, kd: 1, kh: 5, kw: 5, padding: [0, 2, 2], dilation: [1, 1, 1])
        XCTAssertEqual(ConvolutionBackend.weightGradient(coutG: 8, geometry: k5), .shiftedGEMM, "the direct runs take kernels three taps wide")
    }
}
