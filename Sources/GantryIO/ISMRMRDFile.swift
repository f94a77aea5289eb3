import Foundation
import GantryCore

/// ISMRMRD raw data, the scanner vendors' open format (HDF5 with acquisitions in `/dataset/data` and
/// the XML header in `/dataset/xml`), read by Gantry's own HDF5 reader — the acquisition compound's
/// fields found by name, as libismrmrd defines them (`ismrmrd/dataset.h`), its samples from the
/// global heap — and assembled into the fastMRI layout, so every reconstruction takes it unchanged.
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

    /// `gantry info` lines: matrices, coils, slices, acquisitions and trajectory, without
    /// assembling k-space.
    public static func summary(_ h5: HDF5File) throws -> [String] {
        let file = try read(h5)
        guard let h = file.header else { return [] }
        let dims = { (s: ISMRMRDHeader.Space) in s.matrix.map(String.init).joined(separator: " × ") + ", FOV " + s.fieldOfView.map { String(format: "%g", $0) }.joined(separator: " × ") + " mm" }
        let sampled = file.mask.map { $0.data.filter { $0 > 0 }.count } ?? 0
        return ["ISMRMRD raw: \(h.trajectory ?? "trajectory not stated"), \(file.coils) coils, \(file.slices) slice(s) × contrasts × repetitions, \(sampled) of \(file.shape[3]) phase-encode lines",
                "encoded:     " + dims(h.encoded), "recon:       " + dims(h.recon)]
    }

    /// Flags (1-based bit numbers, as ISMRMRD defines them) of acquisitions that are not image data.
    static let skippedFlags: [Int] = [19, 23, 24, 26, 27, 28, 29]

    /// One acquisition's header fields Gantry uses.
    struct AcquisitionHead {
        var flags: UInt64
        var samples, channels, centre, trajectoryDimensions: Int
        var line, partition, slice, contrast, repetition: Int
    }

    /// The acquisitions of `/dataset/data`: the compound's fields located by name once, then read
    /// per element; samples (interleaved complex float32) from each element's `data` sequence.
    struct Acquisitions {
        let file: HDF5File
        let raw: [UInt8]
        let count: Int
        let elementSize: Int
        private let fields: [String: (offset: Int, type: HDF5Datatype)]
        private let data: Int

        init(_ file: HDF5File) throws {
            self.file = file
            let d = try file.dataset("dataset/data")
            let path = file.path
            func locate(_ names: [String]) throws -> (offset: Int, type: HDF5Datatype) {
                var type = d.type, offset = 0
                for n in names {
                    guard let m = type.member(n) else { throw GantryError.invalidFile(path: path, problem: "/dataset/data has no field \(names.joined(separator: "."))") }
                    offset += m.offset; type = m.type
                }
                guard case .fixedPoint(let size, _, false) = type, size <= 8 else {
                    throw GantryError.invalidFile(path: path, problem: "/dataset/data field \(names.joined(separator: ".")) is \(type.name), expected a little-endian integer")
                }
                return (offset, type)
            }
            var f: [String: (offset: Int, type: HDF5Datatype)] = [:]
            for (key, names) in ["flags": ["head", "flags"], "samples": ["head", "number_of_samples"], "channels": ["head", "active_channels"],
                                 "centre": ["head", "center_sample"], "trajectory": ["head", "trajectory_dimensions"],
                                 "line": ["head", "idx", "kspace_encode_step_1"], "partition": ["head", "idx", "kspace_encode_step_2"],
                                 "slice": ["head", "idx", "slice"], "contrast": ["head", "idx", "contrast"], "repetition": ["head", "idx", "repetition"]] {
                f[key] = try locate(names)
            }
            guard let samples = d.type.member("data"), case .variableLength(.floatingPoint(4, false), false) = samples.type else {
                throw GantryError.invalidFile(path: path, problem: "/dataset/data has no 'data' field of float32 sequences")
            }
            fields = f
            data = samples.offset
            count = d.count
            elementSize = d.type.size
            raw = try file.readStored(d, name: "dataset/data")
        }

        private func field(_ i: Int, _ key: String) -> UInt64 {
            let f = fields[key]!
            return raw.withUnsafeBytes { HDF5Values.bits($0, at: i * elementSize + f.offset, size: f.type.size, bigEndian: false, signed: false) }
        }

        func head(_ i: Int) -> AcquisitionHead {
            AcquisitionHead(flags: field(i, "flags"), samples: Int(field(i, "samples")), channels: Int(field(i, "channels")),
                            centre: Int(field(i, "centre")), trajectoryDimensions: Int(field(i, "trajectory")),
                            line: Int(field(i, "line")), partition: Int(field(i, "partition")), slice: Int(field(i, "slice")),
                            contrast: Int(field(i, "contrast")), repetition: Int(field(i, "repetition")))
        }

        /// Acquisition `i`'s samples: `2 × channels × samples` floats, channel-major.
        func samples(_ i: Int, expected: Int) throws -> [Float] {
            let at = i * elementSize + data
            let bytes = try file.structure.variableLengthValue(raw[at..<(at + file.structure.offsetSize + 8)], baseSize: 4)
            guard bytes.count == 4 * expected else {
                throw GantryError.invalidFile(path: file.path, problem: "acquisition \(i) stores \(bytes.count / 4) values, its header says \(expected)")
            }
            return bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
    }

    public static func read(_ path: String) throws -> KSpaceFile {
        try read(try HDF5File(readingFrom: path))
    }

    public static func read(_ h5: HDF5File) throws -> KSpaceFile {
        let path = h5.path
        guard isRawData(h5) else { throw GantryError.invalidFile(path: path, problem: "not ISMRMRD raw data (no /dataset/data and /dataset/xml)") }
        let fileSize = Int(h5.structure.fileSize)
        let xml = try h5.readString("dataset/xml")
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
        let acquisitions = try Acquisitions(h5)
        let count = acquisitions.count
        guard count > 0 else { throw GantryError.invalidFile(path: path, problem: "no acquisitions") }
        struct Line { var index: Int, slice: Int, contrast: Int, repetition: Int, line: Int, samples: Int, centre: Int }
        var kept: [Line] = []
        var coils = 0, slices = 0, contrasts = 0, repetitions = 0
        for i in 0..<count {
            let h = acquisitions.head(i)
            if skippedFlags.contains(where: { h.flags & (UInt64(1) << UInt64($0 - 1)) != 0 }) { continue }
            guard h.trajectoryDimensions == 0 else {
                throw GantryError.unsupported(path: path, problem: "acquisition \(i) carries a \(h.trajectoryDimensions)D trajectory: Gantry reconstructs Cartesian acquisitions only")
            }
            guard h.partition == 0 else { throw GantryError.unsupported(path: path, problem: "3D encoding (kspace_encode_step_2 of acquisition \(i))") }
            guard h.line < lines else { throw GantryError.invalidFile(path: path, problem: "acquisition \(i): phase-encode line \(h.line) outside the encoded \(lines)") }
            guard h.channels > 0, coils == 0 || h.channels == coils else {
                throw GantryError.invalidFile(path: path, problem: "acquisition \(i) has \(h.channels) channels, earlier ones \(coils)")
            }
            guard h.samples <= readout, h.centre <= readout / 2 else {
                throw GantryError.invalidFile(path: path, problem: "acquisition \(i): \(h.samples) samples (centre \(h.centre)) do not fit the encoded readout of \(readout)")
            }
            coils = h.channels
            let l = Line(index: i, slice: h.slice, contrast: h.contrast, repetition: h.repetition, line: h.line, samples: h.samples, centre: h.centre)
            slices = max(slices, l.slice + 1); contrasts = max(contrasts, l.contrast + 1); repetitions = max(repetitions, l.repetition + 1)
            kept.append(l)
        }
        guard !kept.isEmpty else { throw GantryError.invalidFile(path: path, problem: "no image acquisitions (every one is noise, navigator or calibration-only data)") }
        let volumes = slices * contrasts * repetitions
        let bytes = [coils, readout, lines, 8].reduce(volumes) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        guard bytes <= HDF5File.maxDatasetBytes, bytes <= 64 * max(fileSize, 1) + (1 << 24) else {
            throw GantryError.invalidFile(path: path, problem: "the header and counters describe \(volumes) × \(coils) × \(readout) × \(lines) samples, more than the file could hold")
        }

        // Pass 2: samples into place.
        var kspace = [Float](repeating: 0, count: 2 * volumes * coils * readout * lines)
        var mask = [Float](repeating: 0, count: lines)
        var perVolume = [Set<Int>](repeating: [], count: volumes)
        for l in kept {
            let samples = try acquisitions.samples(l.index, expected: 2 * coils * l.samples)
            let n = l.samples, start = readout / 2 - l.centre
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
