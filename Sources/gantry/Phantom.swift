import ArgumentParser
import Foundation
import GantryCore
import GantryIO
import GantryPhantoms

extension Gantry {
    struct Phantom: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a deterministic digital phantom.",
            discussion: """
            Kinds: shepp-logan (3D modified Shepp–Logan); brain-tumour (one subject: four contrasts, tumour \
            labels, brain mask, tissue labels); kspace (multi-coil fastMRI-layout k-space of a brain-tumour \
            subject's central slices); study (a BIDS-like folder of --subjects subjects, with k-space of the \
            --kspace contrasts: `--kspace all --kspace-slices all --readout-oversampling 2` acquires every \
            contrast as a whole volume, laid out as fastMRI's brain files, with the image geometry so a \
            reconstruction lands on the images' grid). Specs live in phantoms/.
            Real anatomy comes from Debian's mricron-data (Colin27); --anatomy ellipsoid needs no package.
            """
        )

        enum Kind: String, ExpressibleByArgument, CaseIterable {
            case sheppLogan = "shepp-logan", brainTumour = "brain-tumour", kspace, study
        }

        enum AnatomySource: String, ExpressibleByArgument, CaseIterable {
            case colin27, ellipsoid
        }

        @Argument(help: "Phantom kind: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")).")
        var kind: Kind

        @Option(help: "Grid size (voxels per axis).")
        var size: Int = 128

        @Option(help: "Voxel size in mm (brain phantoms: resampling of the anatomy).")
        var spacing: Double = 2

        @Option(help: "Random seed (phantoms with random anatomy).")
        var seed: Int = 0

        @Option(help: "Output folder (created if missing).")
        var out: String

        @Option(help: "Subjects in a study.")
        var subjects: Int = 4

        @Option(help: "Anatomy for brain phantoms: colin27 (Debian mricron-data) or ellipsoid.")
        var anatomy: AnatomySource = .colin27

        @Option(help: "Spec file overriding the built-in brain-tumour defaults (see phantoms/brain-tumour.json).")
        var spec: String?

        @Option(help: "Receive coils for k-space.")
        var coils: Int = 8

        @Option(help: "Axial slices of k-space per subject and contrast (central): a count, or 'all' for the whole volume (study: 0 = none).")
        var kspaceSlices: SliceCount = .count(3)

        @Option(help: "study: contrasts acquired as k-space: none, t1w or all (T1w, ce-gd T1w, T2w, FLAIR).")
        var kspace: KSpaceContrasts = .t1w

        @Option(help: "Readout field of view ÷ image field of view (2 as in fastMRI brain files; reconstructions crop it away).")
        var readoutOversampling: Int = 1

        @Option(help: "Contrast of the kspace phantom: T1w, ce-gd_T1w, T2w or FLAIR.")
        var contrast: String = "T1w"

        @Flag(help: "kspace: spread the slices evenly over the brain's axial extent (training data) instead of the centre.")
        var spread = false

        @OptionGroup var compute: ComputeOptions

        func validate() throws {
            guard (2...1024).contains(size) else { throw ValidationError("--size must be 2…1024") }
            guard spacing > 0 else { throw ValidationError("--spacing must be positive") }
            guard (1...500).contains(subjects) else { throw ValidationError("--subjects must be 1…500") }
            guard (1...64).contains(coils) else { throw ValidationError("--coils must be 1…64") }
            guard seed >= 0 else { throw ValidationError("--seed must be non-negative") }
            guard (1...4).contains(readoutOversampling) else { throw ValidationError("--readout-oversampling must be 1…4") }
        }

        /// `--kspace-slices`: a count or `all`.
        enum SliceCount: ExpressibleByArgument, Equatable {
            case count(Int), all
            init?(argument: String) {
                if argument == "all" { self = .all } else if let n = Int(argument), n >= 0 { self = .count(n) } else { return nil }
            }
            var defaultValueDescription: String { if case .count(let n) = self { return "\(n)" } else { return "all" } }
        }

        enum KSpaceContrasts: String, ExpressibleByArgument, CaseIterable {
            case none, t1w, all
            var contrasts: [Contrast] { self == .none ? [] : self == .t1w ? [.t1] : Contrast.allCases }
        }

        func run() throws {
            try compute.apply()
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            switch kind {
            case .sheppLogan:
                let v = try SheppLogan.volume(shape: [size, size, size], spacing: spacing)
                let path = out + "/shepp-logan.nii.gz"
                try NIfTI.write(v, to: path)
                print(path)
            case .brainTumour:
                let s = try makePhantom().subject(seed: UInt64(seed))
                for c in Contrast.allCases {
                    if let v = s.contrasts[c] { try NIfTI.write(v, to: "\(out)/\(c.rawValue).nii.gz") }
                }
                try NIfTI.write(s.tumour, to: "\(out)/label-tumour_dseg.nii.gz", options: .init(datatype: .uint8))
                try NIfTI.write(s.tissue, to: "\(out)/label-tissue_dseg.nii.gz", options: .init(datatype: .uint8))
                try NIfTI.write(s.brainMask, to: "\(out)/label-brain_mask.nii.gz", options: .init(datatype: .uint8))
                print(out)
            case .kspace:
                guard let c = Contrast(rawValue: contrast) else { throw ValidationError("--contrast must be one of \(Contrast.allCases.map(\.rawValue).joined(separator: ", "))") }
                let s = try makePhantom().subject(seed: UInt64(seed))
                guard let image = s.contrasts[c] else { throw ValidationError("the phantom has no \(c.rawValue) contrast") }
                let nz = image.spatialShape[2]
                let count: Int
                switch kspaceSlices { case .all: count = nz; case .count(let n): count = max(1, min(nz, n)) }
                let slices: [Int]
                if spread {
                    // axial planes holding brain, central 80 % of them, evenly spaced
                    let plane = image.spatialShape[0] * image.spatialShape[1]
                    let brain = (0..<nz).filter { z in (0..<plane).contains { s.brainMask.data[z * plane + $0] > 0 } }
                    let lo = brain.first ?? 0, hi = brain.last ?? (nz - 1), span = Double(hi - lo)
                    slices = Array(Set((0..<count).map { lo + Int((0.1 * span + 0.8 * span * (Double($0) + 0.5) / Double(count)).rounded()) })).sorted()
                } else {
                    let first = max(0, nz / 2 - count / 2)
                    slices = Array(first..<min(nz, first + count))
                }
                let file = try CoilSimulation(coils: coils, seed: UInt64(seed)).simulate(image, slices: slices, acquisition: c.acquisition,
                                                                                          readoutOversampling: readoutOversampling)
                let path = "\(out)/kspace.h5"
                try file.write(path)
                print(path)
            case .study:
                var slices: Int? = nil
                if case .count(let n) = kspaceSlices { slices = n }
                let study = PhantomStudy(subjects: subjects, seed: UInt64(seed), phantom: try makePhantom(), kspace: kspace.contrasts,
                                         kspaceSlices: slices, coils: coils, readoutOversampling: readoutOversampling)
                try study.write(to: out) { id in Log.progress("  \(id) done") }
                print(out)
            }
        }

        func makePhantom() throws -> BrainTumourPhantom {
            let a = anatomy == .colin27 ? try BrainAnatomy.colin27(spacing: spacing) : try BrainAnatomy.ellipsoid(spacing: spacing)
            var s = BrainTumourSpec.default
            if let spec {
                do { s = try JSONDecoder().decode(BrainTumourSpec.self, from: Data(contentsOf: URL(fileURLWithPath: spec))) }
                catch { throw GantryError.invalidFile(path: spec, problem: "not a brain-tumour phantom spec (\(error))") }
            }
            return BrainTumourPhantom(anatomy: a, spec: s)
        }
    }
}
