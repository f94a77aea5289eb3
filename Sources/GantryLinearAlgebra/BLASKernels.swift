import COpenBLAS
import Foundation

/// Which of OpenBLAS's kernel sets runs. Debian's OpenBLAS (0.3.21, DYNAMIC_ARCH) picks its kernels
/// by CPU model and falls back to Prescott's SSE3 kernels on a model it does not know — cloud Xeons
/// that report a generic "Intel(R) Xeon(R) Processor" with AVX-512 are such — and single-precision
/// GEMMs then run about 3× slower than they can. When OpenBLAS chose a set older than AVX2 on a CPU
/// whose flags (as the kernel reports them) include AVX2 and FMA, the set for the CPU's widest
/// vectors is selected instead: SkylakeX with AVX-512 F/BW/DQ/VL, else Haswell. A choice OpenBLAS
/// made for a CPU it knows (Haswell, Zen, SkylakeX, …) and a user's `OPENBLAS_CORETYPE` are kept.
public enum BLASKernels {
    /// The kernel set in use, as OpenBLAS names it.
    public static var coreName: String {
        _ = selected
        return String(cString: openblas_get_corename())
    }

    /// Runs once, before the first BLAS call (every call goes through `BLAS`).
    static let selected: Void = {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil else { return }
        if let core = replacement(current: String(cString: openblas_get_corename()), cpuFlags: cpuFlags()) {
            _ = gantry_openblas_reselect_core(core)
        }
    }()

    /// The CPU's feature flags as the kernel reports them (`/proc/cpuinfo`; empty elsewhere).
    static func cpuFlags() -> Set<String> {
        guard let line = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
        return Set(line.split(separator: " ").map(String.init))
    }

    /// OpenBLAS's kernel sets that use AVX2 or wider.
    static let vectorCores: Set<String> = ["haswell", "zen", "skylakex", "cooperlake", "sapphirerapids", "excavator"]

    /// The kernel set to select instead of `current` on a CPU with `cpuFlags`, or nil to keep it.
    static func replacement(current: String, cpuFlags: Set<String>) -> String? {
        guard !vectorCores.contains(current.lowercased()), cpuFlags.isSuperset(of: ["avx2", "fma"]) else { return nil }
        return cpuFlags.isSuperset(of: ["avx512f", "avx512bw", "avx512dq", "avx512vl"]) ? "SkylakeX" : "Haswell"
    }
}
