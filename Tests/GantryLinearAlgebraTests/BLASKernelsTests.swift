import Foundation
@testable import GantryLinearAlgebra
import XCTest

final class BLASKernelsTests: XCTestCase {
    /// The rule: only a pre-AVX2 choice on an AVX2+FMA CPU is replaced, by the widest set it has.
    func testReplacementRule() {
        let avx2: Set<String> = ["sse3", "avx", "avx2", "fma"]
        let avx512 = avx2.union(["avx512f", "avx512bw", "avx512dq", "avx512vl"])
        XCTAssertEqual(BLASKernels.replacement(current: "Prescott", cpuFlags: avx512), "SkylakeX")
        XCTAssertEqual(BLASKernels.replacement(current: "Nehalem", cpuFlags: avx2), "Haswell")
        XCTAssertEqual(BLASKernels.replacement(current: "Prescott", cpuFlags: avx2.union(["avx512f"])), "Haswell", "AVX-512 F alone is not SkylakeX's set")
        XCTAssertNil(BLASKernels.replacement(current: "Prescott", cpuFlags: ["sse3", "avx"]), "no AVX2: the SSE kernels are right")
        XCTAssertNil(BLASKernels.replacement(current: "Zen", cpuFlags: avx512), "a CPU OpenBLAS knows keeps its choice")
        XCTAssertNil(BLASKernels.replacement(current: "Haswell", cpuFlags: avx512))
    }

    /// On this machine the kernels in use are AVX2 or wider whenever the CPU has AVX2 and FMA (the
    /// reselection ran before the first BLAS call), and GEMMs stay exact on small integers.
    func testKernelsInUseMatchTheCPU() throws {
        let flags = BLASKernels.cpuFlags()
        XCTAssertTrue(flags.contains("sse2"), "an x86-64 CPU's flags were read")
        let core = BLASKernels.coreName
        if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil && flags.isSuperset(of: ["avx2", "fma"]) {
            XCTAssertTrue(BLASKernels.vectorCores.contains(core.lowercased()), "OpenBLAS runs \(core) kernels on an AVX2 CPU")
        }
        let (m, n, k) = (33, 70, 41)
        let a = (0..<(m * k)).map { Float(($0 * 37) % 11) - 5 }, b = (0..<(k * n)).map { Float(($0 * 13) % 7) - 3 }
        let c = try BLAS.matmul(a, b, m: m, n: n, k: k)
        for i in [0, 17, 32] { for j in [0, 33, 69] {
            XCTAssertEqual(c[i * n + j], (0..<k).reduce(Float(0)) { $0 + a[i * k + $1] * b[$1 * n + j] })
        } }
    }
}
