import Foundation
import GantryCore
import GantryIO

/// Writes a BIDS-like study of brain-tumour phantom subjects:
///
///     DIR/dataset_description.json, participants.tsv, label-tumour_dseg.tsv, label-tissue_dseg.tsv
///     DIR/sub-01/anat/sub-01_{T1w,ce-gd_T1w,T2w,FLAIR}.nii.gz                (float32)
///     DIR/sub-01/anat/sub-01_label-{tumour,tissue}_dseg.nii.gz, _label-brain_mask.nii.gz (uint8)
///     DIR/sub-01/kspace/sub-01_<contrast>_kspace.h5  (fastMRI layout, axial slices, image geometry)
///
/// Subject i uses seed (seed, stream i), so adding subjects never changes the earlier ones.
public struct PhantomStudy: Sendable {
    public var subjects: Int
    public var seed: UInt64
    public var phantom: BrainTumourPhantom
    /// Contrasts acquired as k-space (none: images only).
    public var kspace: [Contrast]
    /// Central axial slices of k-space per contrast; nil: every slice (the whole volume, stored
    /// without `sensitivity_map`, as real data come, to keep the study's size down); 0: none.
    public var kspaceSlices: Int?
    public var coils: Int
    /// Readout field of view ÷ image field of view (2 as in fastMRI's brain files).
    public var readoutOversampling: Int

    public init(subjects: Int, seed: UInt64, phantom: BrainTumourPhantom, kspace: [Contrast] = [.t1], kspaceSlices: Int? = 3, coils: Int = 8,
                readoutOversampling: Int = 1) {
        self.subjects = subjects; self.seed = seed; self.phantom = phantom; self.kspace = kspace; self.kspaceSlices = kspaceSlices
        self.coils = coils; self.readoutOversampling = readoutOversampling
    }

    public static func subjectID(_ i: Int) -> String { String(format: "sub-%02d", i + 1) }

    /// Generates and writes every subject; returns their ids. `progress` gets each finished id.
    @discardableResult
    public func write(to dir: String, progress: (String) -> Void = { _ in }) throws -> [String] {
        guard subjects >= 1 else { throw GantryError.invalidArgument("a study needs at least one subject") }
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var rows = ["participant_id\tseed\ttumour_volume_ml\ttumour_radius_mm\ttumour_centre_mm"]
        var ids = [String]()
        for i in 0..<subjects {
            let id = Self.subjectID(i)
            var g = SeededRandom(seed: seed, stream: UInt64(i))
            let subjectSeed = g.next()
            let s = try phantom.subject(seed: subjectSeed)
            let anat = "\(dir)/\(id)/anat", kdir = "\(dir)/\(id)/kspace"
            try fm.createDirectory(atPath: anat, withIntermediateDirectories: true)
            if !kspace.isEmpty && kspaceSlices != 0 { try fm.createDirectory(atPath: kdir, withIntermediateDirectories: true) }
            for c in Contrast.allCases {
                guard let v = s.contrasts[c] else { continue }
                try NIfTI.write(v, to: "\(anat)/\(id)_\(c.rawValue).nii.gz", options: .init(datatype: .float32))
            }
            try NIfTI.write(s.tumour, to: "\(anat)/\(id)_label-tumour_dseg.nii.gz", options: .init(datatype: .uint8))
            try NIfTI.write(s.tissue, to: "\(anat)/\(id)_label-tissue_dseg.nii.gz", options: .init(datatype: .uint8))
            try NIfTI.write(s.brainMask, to: "\(anat)/\(id)_label-brain_mask.nii.gz", options: .init(datatype: .uint8))
            for (n, c) in Contrast.allCases.enumerated() where kspace.contains(c) && kspaceSlices != 0 {
                guard let image = s.contrasts[c] else { continue }
                let nz = image.spatialShape[2], count = min(nz, kspaceSlices ?? nz)
                let first = max(0, nz / 2 - count / 2)
                // T1w keeps the noise stream it always had; each other contrast has its own.
                let sim = CoilSimulation(coils: coils, snr: 40, seed: subjectSeed ^ 0x5eed ^ (UInt64(n) &* 0x9E37_79B9_7F4A_7C15))
                try sim.simulate(image, slices: Array(first..<(first + count)), acquisition: c.acquisition, readoutOversampling: readoutOversampling,
                                  keepMaps: kspaceSlices != nil)
                    .write("\(kdir)/\(id)_\(c.rawValue)_kspace.h5")
            }
            let voxelML = s.tumour.spacing.reduce(1, *) / 1000
            let tumourML = Double(s.tumour.data.filter { $0 > 0 }.count) * voxelML
            rows.append("\(id)\t\(subjectSeed)\t\(String(format: "%.2f", tumourML))\t\(String(format: "%.1f", s.tumourRadius))\t\(s.tumourCentre.map { String(format: "%.1f", $0) }.joined(separator: ","))")
            ids.append(id)
            progress(id)
        }
        try FileIO.writeAtomically("\(dir)/participants.tsv", text: rows.joined(separator: "\n") + "\n")
        try FileIO.writeAtomically("\(dir)/label-tumour_dseg.tsv", text: "index\tname\n1\tnecrotic_core\n2\toedema\n3\tenhancing\n")
        try FileIO.writeAtomically("\(dir)/label-tissue_dseg.tsv", text: "index\tname\n1\tCSF\n2\tGM\n3\tWM\n")
        let description: [String: Any] = [
            "Name": "Gantry brain-tumour phantom",
            "BIDSVersion": "1.8.0",
            "DatasetType": "raw",
            "GeneratedBy": [["Name": "gantry", "Version": GantryVersion.string,
                             "Description": "gantry phantom study --subjects \(subjects) --seed \(seed)"]],
            "Anatomy": phantom.anatomy.source,
        ]
        try FileIO.writeJSON("\(dir)/dataset_description.json", description)
        return ids
    }
}
