import COpenBLAS
import GantryCore

/// Eigen-decomposition of a complex Hermitian matrix (LAPACK `cheevd` from OpenBLAS).
public enum HermitianEigen {
    /// Eigenvalues (ascending) and eigenvectors of the n×n Hermitian matrix `a` (interleaved complex,
    /// row-major; only the Hermitian part matters). `vectors[j]` is the eigenvector of `values[j]`.
    public static func decompose(_ a: [Float], n: Int) throws -> (values: [Float], vectors: [[Float]]) {
        guard a.count == 2 * n * n, n > 0 else { throw GantryError.invalidArgument("eigen: need \(n)×\(n) complex values") }
        // LAPACK is column-major: the row-major Hermitian A is the column-major conj(A) = Aᵀ, whose
        // eigenvectors are the conjugates of A's; conjugate back below.
        _ = BLASKernels.selected
        var m = a
        var w = [Float](repeating: 0, count: n)
        var nn = Int32(n), lda = Int32(n), info: Int32 = 0
        var lwork: Int32 = -1, lrwork: Int32 = -1, liwork: Int32 = -1
        var wq = [Float](repeating: 0, count: 2), rq = [Float](repeating: 0, count: 1), iq = [Int32](repeating: 0, count: 1)
        let jobz: CChar = 86 /* V */, uplo: CChar = 85 /* U */
        var jz = jobz, ul = uplo
        cheevd_(&jz, &ul, &nn, &m, &lda, &w, &wq, &lwork, &rq, &lrwork, &iq, &liwork, &info, 1, 1)
        guard info == 0 else { throw GantryError.invalidArgument("cheevd workspace query failed (\(info))") }
        lwork = Int32(wq[0]); lrwork = Int32(rq[0]); liwork = iq[0]
        var work = [Float](repeating: 0, count: 2 * Int(max(lwork, 1)))
        var rwork = [Float](repeating: 0, count: Int(max(lrwork, 1)))
        var iwork = [Int32](repeating: 0, count: Int(max(liwork, 1)))
        cheevd_(&jz, &ul, &nn, &m, &lda, &w, &work, &lwork, &rwork, &lrwork, &iwork, &liwork, &info, 1, 1)
        guard info == 0 else { throw GantryError.invalidArgument("cheevd failed (\(info))") }
        // Column j of the column-major result is eigenvector j of conj(A); conjugate it.
        var vectors: [[Float]] = []
        for j in 0..<n {
            var v = [Float](repeating: 0, count: 2 * n)
            for i in 0..<n {
                v[2 * i] = m[2 * (j * n + i)]
                v[2 * i + 1] = -m[2 * (j * n + i) + 1]
            }
            vectors.append(v)
        }
        return (w, vectors)
    }
}
