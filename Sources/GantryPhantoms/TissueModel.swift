/// Tissue classes of the brain-tumour phantom. Raw values are the label codes written to files:
/// anatomy in the tissue map (1–3), tumour sub-regions in the BraTS-style tumour map (1–3).
public enum Tissue: Int, CaseIterable, Codable, Sendable {
    case background = 0, csf, gm, wm, necrosis, oedema, enhancing

    public var name: String { ["background", "csf", "gm", "wm", "necrosis", "oedema", "enhancing"][rawValue] }

    /// Label in the tumour map: 1 necrotic core, 2 oedema, 3 enhancing rim (BraTS convention, 0 otherwise).
    public var tumourLabel: UInt8 {
        switch self { case .necrosis: return 1; case .oedema: return 2; case .enhancing: return 3; default: return 0 }
    }
}

/// The four MR contrasts the phantom synthesises.
public enum Contrast: String, CaseIterable, Codable, Sendable {
    case t1 = "T1w", t1ce = "ce-gd_T1w", t2 = "T2w", flair = "FLAIR"

    /// fastMRI's `acquisition` attribute for an axial brain series of this contrast.
    public var acquisition: String { [Contrast.t1: "AXT1", .t1ce: "AXT1POST", .t2: "AXT2", .flair: "AXFLAIR"][self] ?? "AX" }
}

/// Human-readable phantom specification (`phantoms/brain-tumour.json` holds the defaults): tissue
/// intensities per contrast, image degradations and tumour shape parameters.
public struct BrainTumourSpec: Codable, Equatable, Sendable {
    /// intensities[contrast][tissue name] in arbitrary units (background is 0).
    public var intensities: [String: [String: Double]]
    /// Relative strength of the real T1 texture kept inside each tissue (0 = flat classes).
    public var texture: Double
    /// Partial-volume blur (Gaussian σ, mm).
    public var blurMM: Double
    /// Peak-to-peak amplitude of the smooth multiplicative bias field (0.2 = ±10 %).
    public var biasAmplitude: Double
    /// Rician noise σ as a fraction of the white-matter T1 intensity.
    public var noise: Double
    /// Random smooth deformation amplitude (mm) and rotation range (degrees) per subject.
    public var deformationMM: Double
    public var rotationDegrees: Double
    /// Tumour outer radius range (mm), boundary irregularity (relative), oedema extent (× radius).
    public var tumourRadiusMM: [Double]
    public var irregularity: Double
    public var oedemaExtent: Double
    /// Normalised radii (of the tumour radius) where necrosis ends and the enhancing rim ends.
    public var necrosisFraction: Double
    public var rimFraction: Double

    public static let `default` = BrainTumourSpec(
        intensities: [
            "T1w": ["csf": 0.25, "gm": 0.55, "wm": 0.75, "necrosis": 0.30, "oedema": 0.45, "enhancing": 0.50],
            "ce-gd_T1w": ["csf": 0.25, "gm": 0.55, "wm": 0.75, "necrosis": 0.25, "oedema": 0.45, "enhancing": 1.00],
            "T2w": ["csf": 1.00, "gm": 0.60, "wm": 0.45, "necrosis": 0.90, "oedema": 0.85, "enhancing": 0.70],
            "FLAIR": ["csf": 0.10, "gm": 0.60, "wm": 0.45, "necrosis": 0.50, "oedema": 0.95, "enhancing": 0.70],
        ],
        texture: 0.08, blurMM: 1.0, biasAmplitude: 0.2, noise: 0.03,
        deformationMM: 4, rotationDegrees: 6,
        tumourRadiusMM: [10, 22], irregularity: 0.25, oedemaExtent: 1.6,
        necrosisFraction: 0.45, rimFraction: 0.75
    )

    func intensity(_ c: Contrast, _ t: Tissue) -> Double {
        t == .background ? 0 : intensities[c.rawValue]?[t.name] ?? 0
    }
}
