// swift-tools-version:6.1
// Gantry — medical-imaging pipelines in one native binary.
// Module layout and dependency rules: see docs/architecture.md. Lower targets never import higher ones;
// each C library is touched only from its one wrapper module.
import Foundation
import PackageDescription

// Vector width. Where the CPU building Gantry has AVX2 and FMA (x86-64-v3: every x86 server CPU
// since 2013), Swift code is compiled for it, and for x86-64-v4 where it also has AVX-512 (the
// machines Gantry is benchmarked on): loops vectorise 8 or 16 floats wide instead of SSE2's 4,
// GANTRY_FMA lets kernels use hardware fused multiply-adds (without it `addingProduct` is a library
// call per lane) and GANTRY_AVX512 widens the direct convolution's registers. Results do not depend
// on it — Swift never fuses a·b + c on its own and wider vectors do not reorder sums (registration
// outputs were bit-identical) — but the binary then needs such a CPU, which the build machine is.
let cpuFlags = Set((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
    .split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
let vector: [SwiftSetting] =
    cpuFlags.isSuperset(of: ["avx2", "fma", "avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"])
    ? [.unsafeFlags(["-Xcc", "-march=x86-64-v4"]), .define("GANTRY_FMA"), .define("GANTRY_AVX512")]
    : cpuFlags.isSuperset(of: ["avx2", "fma"]) ? [.unsafeFlags(["-Xcc", "-march=x86-64-v3"]), .define("GANTRY_FMA")] : []

let package = Package(
    name: "Gantry",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "gantry", targets: ["gantry"]),
        .library(name: "GantryCore", targets: ["GantryCore"]),
        .library(name: "GantryIO", targets: ["GantryIO"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // C libraries (Debian -dev packages, installed by `make deps`).
        .systemLibrary(name: "CFFTW", pkgConfig: "fftw3f"),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas"),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5"),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng"),
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate"),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib"),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto"),
        // libnifti2 needs /usr/include/nifti on the include path for <znzlib.h>; a C target with a
        // forwarding header provides it (a system-library target cannot add include paths).
        .target(
            name: "CNIfTI",
            linkerSettings: [.linkedLibrary("nifti2"), .linkedLibrary("znz"), .linkedLibrary("z"), .linkedLibrary("m")]
        ),

        // Swift modules.
        .target(name: "GantryCore", swiftSettings: vector),
        .target(name: "GantryIO", dependencies: ["GantryCore", "CNIfTI", "CHDF5", "CDeflate", "CZlib", "CPNG"], swiftSettings: vector),
        .target(name: "GantryLinearAlgebra", dependencies: ["GantryCore", "COpenBLAS"], swiftSettings: vector),
        .target(name: "GantryNN", dependencies: ["GantryCore", "GantryLinearAlgebra"], swiftSettings: vector),
        .target(name: "GantryRecon", dependencies: ["GantryCore", "GantryIO", "GantryLinearAlgebra", "GantryNN", "GantryMetrics", "CFFTW"], swiftSettings: vector),
        .target(name: "GantryMetrics", dependencies: ["GantryCore"], swiftSettings: vector),
        .target(name: "GantryRegistration", dependencies: ["GantryCore", "GantryIO", "GantryMetrics"], swiftSettings: vector),
        .target(name: "GantrySegmentation", dependencies: ["GantryCore", "GantryIO", "GantryNN"], swiftSettings: vector),
        .target(name: "GantryPhantoms", dependencies: ["GantryCore", "GantryIO", "GantryRecon"], swiftSettings: vector),
        .target(name: "GantryPipeline", dependencies: ["GantryCore", "GantryIO", "GantryMetrics", "GantryRecon", "GantryRegistration", "GantrySegmentation", "CCrypto", "Yams"], swiftSettings: vector),
        .executableTarget(
            name: "gantry",
            dependencies: [
                "GantryCore", "GantryIO", "GantryLinearAlgebra", "GantryPhantoms", "GantryMetrics", "GantryPipeline", "GantryRecon", "GantryRegistration", "GantrySegmentation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: vector
        ),

        // libFuzzer targets for the file parsers (`make fuzz`); an ordinary build replays inputs.
        .executableTarget(name: "gantry-fuzz", dependencies: ["GantryCore", "GantryIO", "GantryNN", "GantryPipeline", "GantryRegistration"], swiftSettings: vector),

        .executableTarget(name: "gantry-bench", dependencies: ["GantryCore", "GantryIO", "GantryLinearAlgebra", "GantryMetrics", "GantryPhantoms", "GantryRecon", "GantryNN", "GantrySegmentation", .product(name: "ArgumentParser", package: "swift-argument-parser")], swiftSettings: vector),

        .testTarget(name: "GantryCoreTests", dependencies: ["GantryCore"], exclude: ["Fixtures"], swiftSettings: vector),
        .testTarget(name: "GantryIOTests", dependencies: ["GantryIO", "GantryCore"], exclude: ["Fixtures"], swiftSettings: vector),
        .testTarget(name: "GantryLinearAlgebraTests", dependencies: ["GantryLinearAlgebra"], swiftSettings: vector),
        .testTarget(name: "GantryNNTests", dependencies: ["GantryNN"], exclude: ["Fixtures"], swiftSettings: vector),
        .testTarget(name: "GantryRegistrationTests", dependencies: ["GantryRegistration", "GantryPhantoms", "GantryMetrics"], swiftSettings: vector),
        .testTarget(name: "GantryMetricsTests", dependencies: ["GantryMetrics"], exclude: ["Fixtures"], swiftSettings: vector),
        // What several test targets share: running the built `gantry` as a user would, comparing runs.
        .target(name: "GantryTestSupport", dependencies: ["GantryCore"], path: "Tests/GantryTestSupport", swiftSettings: vector),
        .testTarget(name: "GantryPipelineTests", dependencies: ["GantryPipeline", "GantryPhantoms", "GantryIO", "GantryRegistration", "GantryTestSupport"], swiftSettings: vector),
        .testTarget(name: "GantrySegmentationTests", dependencies: ["GantrySegmentation", "GantryNN", "GantryPhantoms"], exclude: ["Fixtures"], swiftSettings: vector),
        .testTarget(name: "GantryPhantomsTests", dependencies: ["GantryPhantoms", "GantryIO"], swiftSettings: vector),
        .testTarget(name: "gantryTests", dependencies: ["gantry", "gantry-fuzz", "GantryCore", "GantryIO", "GantryPipeline", "GantryTestSupport"], exclude: ["Fixtures"], swiftSettings: vector),
        .testTarget(name: "GantryReconTests", dependencies: ["GantryRecon", "GantryNN", "GantryMetrics", "GantryPhantoms", "GantryIO", "GantryTestSupport"], exclude: ["Fixtures"], swiftSettings: vector),
    ],
    // Swift 5 language mode: numeric kernels hand raw buffer pointers to Dispatch workers that touch
    // disjoint ranges; Swift 6's Sendable checking rejects that pattern without making it safer.
    swiftLanguageModes: [.v6]
)
