import CISMRMRD
import Foundation
import GantryCore

/// ISMRMRD raw data, the scanner vendors' open format (HDF5 with acquisitions in `/dataset/data` and
/// the XML header in `/dataset/xml`), read through libismrmrd's C API and assembled into the
/// fastMRI layout, so every reconstruction takes it unchanged.
///
/// Cartesian 2D encodings only: each acquisition is one phase-encode line, placed by its
/// `kspace_encode_step_1` counter (and its readout by `center_sample`) into
/// `[slices, coils, readout, phase encode]`, where "slices" runs over repetition, contrast and
/// slice (slice fastest). Noise, navigator, phase-correction, feedback, dummy and
/// surface-coil-correction scans are skipped by their flags; parallel-calibration lines are kept.
/// The readout stays oversampled in k-space: the header's reconSpace crops it after the inverse
/// FFT, as for fastMRI files. The mask is 1D over the phase-encode lines that were acquired; when
/// volumes sampled different lines it is their union (`KSpaceFile.masksDifferBetweenSlices`), and
/// only zero-filled reconstruction is allowed.
public enum ISMRMRDFile {
    /// Whether an HDF5 file holds ISMRMRD raw data.
    public static func isRawData(_ file: HDF5File) -> Bool {
        file.contains("dataset/data") && file.contains("dataset/xml")
    }

    /// Whether the file at `path` holds ISMRMRD raw data (its XML header's stored length checked);
    /// the file is closed again before this returns (libismrmrd opens it with other access
    /// properties, which libhdf5 refuses while Gantry's own handle is open).
    public static func isRawData(path: String) throws -> Bool {
        let file = try HDF5File(readingFrom: path)
        guard isRawData(file) else { return false }
        // libismrmrd reads the header with H5Dread, which allocates the length the file states.
        try file.checkStoredLength(ofStringDataset: "dataset/xml")
        return true
    }

    /// `gantry info` lines: matrices, coils, slices, acquisitions and trajectory, without
    /// assembling k-space.
    public static func summary(_ path: String) throws -> [String] {
        let file = try read(path)
        guard let h = file.header else { return [] }
        let dims = { (s: ISMRMRDHeader.Space) in s.matrix.map(String.init).joined(separator: " × ") + ", FOV " + s.fieldOfView.map { String(format: "%g", $0) }.joined(separator: " × ") + " mm" }
        let sampled = file.mask.map { $0.data.filter { $0 > 0 }.count } ?? 0
        return ["ISMRMRD raw: \(h.trajectory ?? "trajectory not stated"), \(file.coils) coils, \(file.slices) slice(s) × contrasts × repetitions, \(sampled) of \(file.shape[3]) phase-encode lines",
                "encoded:     " + dims(h.encoded), "recon:       " + dims(h.recon)]
    }

    /// Flags (1-based bit numbers, as ISMRMRD defines them) of acquisitions that are not image data.
    static let skippedFlags: [Int] = [19, 23, 24, 26, 27, 28, 29]

    public static func read(_ path: String) throws -> KSpaceFile {
        guard try isRawData(path: path) else { throw GantryError.invalidFile(path: path, problem: "not ISMRMRD raw data (no /dataset/data and /dataset/xml)") }
        let fileSize = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        ismrmrd_set_error_handler { _, _, _, _, _ in }  // errors become GantryErrors, not stderr lines
        var dataset = ISMRMRD_Dataset()
        guard ismrmrd_init_dataset(&dataset, path, "/dataset") == 0, ismrmrd_open_dataset(&dataset, false) == 0 else {
            throw GantryError.invalidFile(path: path, problem: "libismrmrd cannot open the dataset")
        }
        defer { ismrmrd_close_dataset(&dataset) }
        guard let xmlPointer = ismrmrd_read_header(&dataset) else { throw GantryError.invalidFile(path: path, problem: "no ISMRMRD XML header") }
        let xml = String(cString: xmlPointer)
        free(xmlPointer)
        guard let header = try ISMRMRDHeader.parse(xml, path: path) else {
            throw GantryError.invalidFile(path: path, problem: "the ISMRMRD header has no <encoding>")
        }
        if let t = header.trajectory, t != "cartesian" {
            throw GantryError.unsupported(path: path, problem: "\(t) trajectory: Gantry reconstructs Cartesian acquisitions only")
        }
        guard header.encoded.matrix[2] == 1 else {
            throw GantryError.unsupported(path: path, problem: "3D encoding (encodedSpace z = \(header.encoded.matrix[2])): Gantry reconstructs 2D acquisitions")
        }
        let readout = header.encoded.matrix[0], lines = header.encoded.matrix[1]

        // Pass 1: the image acquisitions' counters and channel count.
        let count = Int(ismrmrd_get_number_of_acquisitions(&dataset))
        guard count > 0 else { throw GantryError.invalidFile(path: path, problem: "no acquisitions") }
        var acq = ISMRMRD_Acquisition()
        ismrmrd_init_acquisition(&acq)
        defer { ismrmrd_cleanup_acquisition(&acq) }
        struct Line { var index: Int, slice: Int, contrast: Int, repetition: Int, line: Int }
        var kept: [Line] = []
        var coils = 0, slices = 0, contrasts = 0, repetitions = 0
        for i in 0..<count {
            guard ismrmrd_read_acquisition(&dataset, UInt32(i), &acq) == 0 else {
                throw GantryError.invalidFile(path: path, problem: "cannot read acquisition \(i)")
            }
            let h = acq.head
            if skippedFlags.contains(where: { h.flags & (UInt64(1) << UInt64($0 - 1)) != 0 }) { continue }
            guard h.trajectory_dimensions == 0 else {
                throw GantryError.unsupported(path: path, problem: "acquisition \(i) carries a \(h.trajectory_dimensions)D trajectory: Gantry reconstructs Cartesian acquisitions only")
            }
            guard Int(h.idx.kspace_encode_step_2) == 0 else { throw GantryError.unsupported(path: path, problem: "3D encoding (kspace_encode_step_2 of acquisition \(i))") }
            let line = Int(h.idx.kspace_encode_step_1)
            guard line < lines else { throw GantryError.invalidFile(path: path, problem: "acquisition \(i): phase-encode line \(line) outside the encoded \(lines)") }
            let channels = Int(h.active_channels)
            guard channels > 0, coils == 0 || channels == coils else {
                throw GantryError.invalidFile(path: path, problem: "acquisition \(i) has \(channels) channels, earlier ones \(coils)")
            }
            guard Int(h.number_of_samples) <= readout, Int(h.center_sample) <= readout / 2 else {
                throw GantryError.invalidFile(path: path, problem: "acquisition \(i): \(h.number_of_samples) samples (centre \(h.center_sample)) do not fit the encoded readout of \(readout)")
            }
            coils = channels
            let l = Line(index: i, slice: Int(h.idx.slice), contrast: Int(h.idx.contrast), repetition: Int(h.idx.repetition), line: line)
            slices = max(slices, l.slice + 1); contrasts = max(contrasts, l.contrast + 1); repetitions = max(repetitions, l.repetition + 1)
            kept.append(l)
        }
        guard !kept.isEmpty else { throw GantryError.invalidFile(path: path, problem: "no image acquisitions (every one is noise, navigator or calibration-only data)") }
        let volumes = slices * contrasts * repetitions
        let (bytes, overflow) = (volumes * coils * readout).multipliedReportingOverflow(by: lines * 8)
        guard !overflow, bytes <= HDF5File.maxDatasetBytes, bytes <= 64 * max(fileSize, 1) + (1 << 24) else {
            throw GantryError.invalidFile(path: path, problem: "the header and counters describe \(volumes) × \(coils) × \(readout) × \(lines) samples, more than the file could hold")
        }

        // Pass 2: samples into place.
        var kspace = [Float](repeating: 0, count: 2 * volumes * coils * readout * lines)
        var mask = [Float](repeating: 0, count: lines)
        var perVolume = [Set<Int>](repeating: [], count: volumes)
        for l in kept {
            guard ismrmrd_read_acquisition(&dataset, UInt32(l.index), &acq) == 0, let samples = gantry_acquisition_samples(&acq) else {
                throw GantryError.invalidFile(path: path, problem: "cannot read acquisition \(l.index)")
            }
            let n = Int(acq.head.number_of_samples), start = readout / 2 - Int(acq.head.center_sample)
            guard start >= 0, start + n <= readout else { throw GantryError.invalidFile(path: path, problem: "acquisition \(l.index): samples fall outside the readout") }
            let volume = (l.repetition * contrasts + l.contrast) * slices + l.slice
            for c in 0..<coils {
                for s in 0..<n {
                    let at = 2 * ((((volume * coils + c) * readout) + start + s) * lines + l.line)
                    kspace[at] = samples[2 * (c * n + s)]
                    kspace[at + 1] = samples[2 * (c * n + s) + 1]
                }
            }
            mask[l.line] = 1
            perVolume[volume].insert(l.line)
        }
        var file = try KSpaceFile(shape: [volumes, coils, readout, lines], kspace: kspace)
        file.mask = ([lines], mask)
        file.masksDifferBetweenSlices = Set(perVolume).count > 1
        file.headerXML = xml
        file.header = header
        return file
    }
}
