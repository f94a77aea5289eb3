import COpenBLAS
import GantryCore

/// Thin, checked access to OpenBLAS single precision (row-major): GEMM, the workhorse of
/// convolutions, and the dot products of the normalisation and depthwise gradients. The tensor
/// engine and ESPIRiT reach OpenBLAS only through this target.
public enum BLAS {
    /// Threads OpenBLAS uses (it keeps its own pool).
    public static var threads: Int {
        get { _ = BLASKernels.selected; return Int(openblas_get_num_threads()) }
        set { _ = BLASKernels.selected; openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// Convolutions parallelise over planes themselves; OpenBLAS's own threads inside those jobs
    /// would oversubscribe the cores, so GEMMs run single-threaded from then on.
    public static func useSingleThreadInsideParallelJobs() { _ = singleThreaded }

    /// Set once per process (a static's lazy initialiser is thread-safe).
    private static let singleThreaded: Void = { threads = 1 }()

    /// C = alpha · op(A) · op(B) + beta · C, row-major; op transposes when asked.
    /// A is m×k (k×m if transposed), B is k×n (n×k if transposed), C is m×n.
    public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, lda: Int? = nil, ldb: Int? = nil, ldc: Int? = nil) {
        _ = BLASKernels.selected
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda ?? (transA ? m : k)), b, Int32(ldb ?? (transB ? k : n)),
                    beta, c, Int32(ldc ?? n))
    }

    /// Σ x[i] · y[i] over `count` contiguous values.
    public static func dot(_ count: Int, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Float {
        _ = BLASKernels.selected
        return cblas_sdot(Int32(count), x, 1, y, 1)
    }

    /// Gram matrix AᴴA (n×n, row-major, interleaved complex) of the complex m×n row-major matrix A.
    public static func gram(_ a: [Float], rows m: Int, cols n: Int) throws -> [Float] {
        guard a.count == 2 * m * n else { throw GantryError.invalidArgument("gram: A has \(a.count / 2) values, need \(m * n)") }
        _ = BLASKernels.selected
        var c = [Float](repeating: 0, count: 2 * n * n)
        var one: (Float, Float) = (1, 0), zero: (Float, Float) = (0, 0)
        a.withUnsafeBufferPointer { ap in
            c.withUnsafeMutableBufferPointer { cp in
                cblas_cgemm(CblasRowMajor, CblasConjTrans, CblasNoTrans, Int32(n), Int32(n), Int32(m),
                            &one, ap.baseAddress, Int32(n), ap.baseAddress, Int32(n), &zero, cp.baseAddress, Int32(n))
            }
        }
        return c
    }

    /// Array convenience: returns op(A)·op(B) (m×n).
    public static func matmul(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false) throws -> [Float] {
        guard a.count == m * k, b.count == k * n else {
            throw GantryError.invalidArgument("matmul: A has \(a.count) values (need \(m * k)), B has \(b.count) (need \(k * n))")
        }
        var c = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: ap.baseAddress!, b: bp.baseAddress!, c: cp.baseAddress!)
                }
            }
        }
        return c
    }
}
