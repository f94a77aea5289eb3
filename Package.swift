// swift-tools-version:6.1
// Gantry — medical-imaging pipelines in one native binary.
// Module layout and dependency rules: see README.md ("Architecture"). Lower targets never import higher ones;
// each C library is touched only from its one wrapper module.
import PackageDescription

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
        // libnifti2 needs /usr/include/nifti on the include path for <znzlib.h>; a C target with a
        // forwarding header provides it (a system-library target cannot add include paths).
        .target(
            name: "CNIfTI",
            linkerSettings: [.linkedLibrary("nifti2"), .linkedLibrary("znz"), .linkedLibrary("z"), .linkedLibrary("m")]
        ),

        // Swift modules.
        .target(name: "GantryCore"),
        .target(name: "GantryIO", dependencies: ["GantryCore", "CNIfTI", "CHDF5", "CDeflate", "CPNG"]),
        .target(name: "GantryNN", dependencies: ["GantryCore", "GantryIO", "COpenBLAS"]),
        .target(name: "GantryRecon", dependencies: ["GantryCore", "GantryIO", "GantryNN", "GantryMetrics", "CFFTW"]),
        .target(name: "GantryMetrics", dependencies: ["GantryCore"]),
        .target(name: "GantryRegistration", dependencies: ["GantryCore", "GantryIO", "GantryMetrics"]),
        .target(name: "GantrySegmentation", dependencies: ["GantryCore", "GantryIO", "GantryNN"]),
        .target(name: "GantryPhantoms", dependencies: ["GantryCore", "GantryIO", "GantryRecon"]),
        .target(name: "GantryPipeline", dependencies: ["GantryCore", "GantryIO", "GantryMetrics", "GantryRecon", "GantryRegistration", "GantrySegmentation", "Yams"]),
        .executableTarget(
            name: "gantry",
            dependencies: [
                "GantryCore", "GantryIO", "GantryPhantoms", "GantryMetrics", "GantryPipeline", "GantryRecon", "GantryRegistration", "GantrySegmentation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .executableTarget(name: "gantry-bench", dependencies: ["GantryCore", "GantryIO", "GantryMetrics", "GantryPhantoms", "GantryRecon", "GantryNN", "GantrySegmentation"]),

        .testTarget(name: "GantryCoreTests", dependencies: ["GantryCore"], exclude: ["Fixtures"]),
        .testTarget(name: "GantryIOTests", dependencies: ["GantryIO", "GantryCore"], exclude: ["Fixtures"]),
        .testTarget(name: "GantryNNTests", dependencies: ["GantryNN"], exclude: ["Fixtures"]),
        .testTarget(name: "GantryRegistrationTests", dependencies: ["GantryRegistration", "GantryPhantoms", "GantryMetrics"]),
        .testTarget(name: "GantryMetricsTests", dependencies: ["GantryMetrics"], exclude: ["Fixtures"]),
        .testTarget(name: "GantryPipelineTests", dependencies: ["GantryPipeline", "GantryPhantoms", "GantryIO", "GantryRegistration"]),
        .testTarget(name: "GantrySegmentationTests", dependencies: ["GantrySegmentation", "GantryNN", "GantryPhantoms"], exclude: ["Fixtures"]),
        .testTarget(name: "GantryPhantomsTests", dependencies: ["GantryPhantoms", "GantryIO"]),
        .testTarget(name: "GantryReconTests", dependencies: ["GantryRecon", "GantryNN", "GantryMetrics", "GantryPhantoms", "GantryIO"], exclude: ["Fixtures"]),
    ],
    // Swift 5 language mode: numeric kernels hand raw buffer pointers to Dispatch workers that touch
    // disjoint ranges; Swift 6's Sendable checking rejects that pattern without making it safer.
    swiftLanguageModes: [.v5]
)
