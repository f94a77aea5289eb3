import Foundation
import GantryCore

/// Human-readable summaries of files for `gantry info`.
public enum Inspect {
    /// A multi-line description of a NIfTI or HDF5 file.
    public static func describe(_ path: String) throws -> String {
        switch try VolumeFormat(path: path) {
        case .nifti, .niftiGzip: return try describeNIfTI(path)
        case .hdf5: return try describeHDF5(path)
        case .bart:
            let (dims, _) = try BARTFile.read(BARTFile.base(path))
            return "file:        \(path)\nformat:      BART .cfl/.hdr (complex64, no geometry)\ndimensions:  \(dims.map(String.init).joined(separator: " "))"
        }
    }

    /// The same facts as `describe`, as a JSON-ready dictionary (`gantry info --json`).
    public static func facts(_ path: String) throws -> [String: Any] {
        switch try VolumeFormat(path: path) {
        case .nifti, .niftiGzip:
            let h = try NIfTI.readHeader(path)
            var out: [String: Any] = ["file": path, "format": "NIfTI-\(h.header.version)", "datatype": h.type.name, "shape": h.shape,
                                      "qform_code": Int(h.header.qformCode), "sform_code": Int(h.header.sformCode), "description": h.header.descrip]
            let affine: Affine
            if h.type == .complex64 {
                let c = try NIfTI.readComplex(path)
                affine = c.affine
            } else {
                let v = try NIfTI.read(path)
                let s = v.statistics
                affine = v.affine
                if s.mean.isFinite { out["min"] = Double(s.min); out["max"] = Double(s.max); out["mean"] = s.mean }
            }
            out["spacing_mm"] = affine.columnNorms
            out["orientation"] = Orientation.axisCodes(of: affine).joined()
            out["affine"] = (0..<4).map { r in (0..<4).map { affine[r, $0] } }
            return out
        case .bart:
            let (dims, _) = try BARTFile.read(BARTFile.base(path))
            return ["file": path, "format": "BART", "datatype": "complex64", "dimensions": dims]
        case .hdf5:
            let f = try HDF5File(readingFrom: path)
            let nodes: [[String: Any]] = f.tree().map { node in
                var attributes: [String: Any] = [:]
                for (name, value) in node.attributes {
                    switch value {
                    case .double(let d)?: attributes[name] = d.isFinite ? d : "\(d)"
                    case .int(let i)?: attributes[name] = i
                    case .string(let s)?: attributes[name] = s
                    case .doubles(let a)?: attributes[name] = a.map { $0.isFinite ? $0 : 0 }
                    case nil: attributes[name] = NSNull()
                    }
                }
                return ["path": node.path, "type": node.type, "shape": node.shape, "attributes": attributes]
            }
            return ["file": path, "format": "HDF5", "contents": nodes]
        }
    }

    static func describeNIfTI(_ path: String) throws -> String {
        let h = try NIfTI.readHeader(path)
        var lines = ["file:        \(path)",
                     "format:      NIfTI-\(h.header.version)\(path.hasSuffix(".gz") ? " (gzip)" : "")",
                     "datatype:    \(h.type.name)",
                     "shape:       \(h.shape.map(String.init).joined(separator: " × "))"]
        let affine: Affine
        if h.type == .complex64 {
            let c = try NIfTI.readComplex(path)
            let m = c.magnitude.statistics
            affine = c.affine
            lines.append("values:      complex; magnitude min \(fmt(m.min)) max \(fmt(m.max)) mean \(fmt(m.mean))")
        } else {
            let v = try NIfTI.read(path)
            let s = v.statistics
            affine = v.affine
            lines.append("values:      min \(fmt(s.min)) max \(fmt(s.max)) mean \(fmt(s.mean))")
        }
        if h.header.sclSlope != 0, h.header.sclSlope.isFinite, h.header.sclSlope != 1 || h.header.sclInter != 0 {
            lines.append("scaling:     value = raw × \(h.header.sclSlope) + \(h.header.sclInter)")
        }
        lines += geometryLines(affine: affine, shape: h.shape, qformCode: h.header.qformCode, sformCode: h.header.sformCode,
                               extraSpacing: h.shape.count > 3 ? (3..<h.shape.count).map { h.header.pixdim[$0 + 1] } : [])
        if !h.header.descrip.isEmpty { lines.append("description: \(h.header.descrip)") }
        return lines.joined(separator: "\n")
    }

    static func geometryLines(affine: Affine, shape: [Int], qformCode: Int32, sformCode: Int32, extraSpacing: [Double]) -> [String] {
        let sp = affine.columnNorms.map { String(format: "%.4g", $0) }.joined(separator: " × ")
        let extra = extraSpacing.map { String(format: "%.4g", $0) }.joined(separator: ", ")
        var lines = ["spacing:     \(sp) mm" + (extraSpacing.isEmpty ? "" : "; \(extra)"),
                     "orientation: \(Orientation.axisCodes(of: affine).joined())",
                     "codes:       qform \(qformCode) (\(codeName(qformCode))), sform \(sformCode) (\(codeName(sformCode)))",
                     "affine (voxel → RAS+ mm):"]
        lines += affine.description.split(separator: "\n").map { "  " + $0 }
        return lines
    }

    static func describeHDF5(_ path: String) throws -> String {
        let f = try HDF5File(readingFrom: path)
        let raw = ISMRMRDFile.isRawData(f) ? try ISMRMRDFile.summary(f) : []
        var lines = ["file:        \(path)", "format:      HDF5", "contents:"]
        for node in f.tree() {
            let kind = node.isGroup ? "group" : "\(node.type) [\(node.shape.map(String.init).joined(separator: ", "))]"
            lines.append("  \(node.path)  \(kind)")
            for (name, value) in node.attributes {
                lines.append("    @\(name) = \(value.map { $0.description } ?? "(not read: a type Gantry does not decode, or a damaged value)")")
            }
        }
        if !raw.isEmpty {
            lines += raw
        } else if f.contains(VolumeHDF5.dataset) {
            let info = try f.datasetInfo(VolumeHDF5.dataset)
            if info.type.hasPrefix("complex") {
                let c = try VolumeHDF5.readComplex(path)
                let m = c.magnitude.statistics
                lines.append("image:       complex; magnitude min \(fmt(m.min)) max \(fmt(m.max)) mean \(fmt(m.mean))")
                lines += geometryLines(affine: c.affine, shape: c.shape, qformCode: c.header?.qformCode ?? 0, sformCode: c.header?.sformCode ?? 0, extraSpacing: [])
            } else {
                let v = try VolumeHDF5.read(path)
                let s = v.statistics
                lines.append("image:       min \(fmt(s.min)) max \(fmt(s.max)) mean \(fmt(s.mean))")
                lines += geometryLines(affine: v.affine, shape: v.shape, qformCode: v.header?.qformCode ?? 0, sformCode: v.header?.sformCode ?? 0, extraSpacing: [])
            }
        } else if f.contains("kspace") {
            // From the shape alone: info describes a file without reading its arrays.
            let s = try f.datasetInfo("kspace").shape
            if s.count == 3 || s.count == 4 {
                lines.append("k-space:     \(s.count == 4 ? "multi-coil" : "single-coil"), \(s[0]) slices, \(s.count == 4 ? s[1] : 1) coils, \(s.suffix(2).map(String.init).joined(separator: " × ")) (readout × phase encode)")
                if f.contains("ismrmrd_header"), let h = try? ISMRMRDHeader.parse(try f.readString("ismrmrd_header"), path: path) {
                    lines.append("encoded:     \(h.encoded.matrix.map(String.init).joined(separator: " × ")), FOV \(h.encoded.fieldOfView.map { fmt($0) }.joined(separator: " × ")) mm")
                    lines.append("recon:       \(h.recon.matrix.map(String.init).joined(separator: " × ")), FOV \(h.recon.fieldOfView.map { fmt($0) }.joined(separator: " × ")) mm")
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    static func codeName(_ c: Int32) -> String {
        switch c {
        case 0: return "unknown"
        case 1: return "scanner"
        case 2: return "aligned"
        case 3: return "Talairach"
        case 4: return "MNI"
        case 5: return "template"
        default: return "other"
        }
    }

    static func fmt(_ x: Float) -> String { String(format: "%.6g", Double(x)) }
    static func fmt(_ x: Double) -> String { String(format: "%.6g", x) }
}
