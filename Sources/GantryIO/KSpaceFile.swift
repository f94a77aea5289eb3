import GantryCore

/// Raw MRI data in the fastMRI HDF5 layout: `kspace` complex64 `[slices, coils, readout, phase]`
/// (multi-coil) or `[slices, readout, phase]` (single-coil) — fastMRI's height × width; brain files
/// are `[…, 640, 320]` with 2× readout oversampling — optional `mask` over the phase-encode axis
/// (float or h5py bool), `reconstruction_rss` (`[slices, h, w]` at reconSpace size), optional
/// `sensitivity_map` (complex64, as in atommic's datasets), the `ismrmrd_header` XML, and attributes
/// `max`, `norm`, `acquisition`, `patient_id`, `acceleration`, `num_low_frequency`. Arrays are C
/// order, as h5py shows them.
public struct KSpaceFile: Sendable {
    /// Shape of `kspace`, C order.
    public var shape: [Int]
    /// Interleaved (re, im) pairs, C order.
    public var kspace: [Float]
    public var mask: (shape: [Int], data: [Float])?
    public var reconstructionRSS: (shape: [Int], data: [Float])?
    /// Coil sensitivity maps `[slices, coils, y, x]` complex64 (interleaved), when known (phantoms).
    public var sensitivityMaps: (shape: [Int], data: [Float])?
    public var max: Double?
    public var norm: Double?
    public var acquisition: String?
    public var patientID: String?
    /// fastMRI challenge files: the acceleration and number of centre lines the mask was made with.
    public var accelerationAttribute: Double?
    public var lowFrequencyLines: Int?
    /// Set when volumes of the file sampled different phase-encode lines (ISMRMRD repetitions in
    /// interleaved calibration mode): `mask` is then their union, which is right for zero-filled
    /// reconstruction only.
    public var masksDifferBetweenSlices = false
    /// The `ismrmrd_header` XML as stored, and what Gantry reads from it.
    public var headerXML: String?
    public var header: ISMRMRDHeader?
    /// Where the slices sit in the subject's image space (phantom studies; see `KSpaceGeometry`).
    public var geometry: KSpaceGeometry?

    public init(shape: [Int], kspace: [Float]) throws {
        guard shape.count == 3 || shape.count == 4 else {
            throw GantryError.invalidArgument("k-space shape \(shape) must be [slices, coils, ky, kx] or [slices, ky, kx]")
        }
        guard shape.allSatisfy({ $0 > 0 }) else {
            throw GantryError.invalidArgument("k-space shape \(shape) has an empty axis (\(shape.count == 4 && shape[1] == 0 ? "zero coils" : "zero length"))")
        }
        guard 2 * shape.reduce(1, *) == kspace.count else {
            throw GantryError.invalidArgument("k-space shape \(shape) does not match \(kspace.count / 2) complex values")
        }
        self.shape = shape
        self.kspace = kspace
    }

    public var isMultiCoil: Bool { shape.count == 4 }
    public var slices: Int { shape[0] }
    public var coils: Int { isMultiCoil ? shape[1] : 1 }

    /// Reads a fastMRI-layout file, ISMRMRD raw data (`ISMRMRDFile`, told apart by content) or
    /// BART's `.cfl`/`.hdr` (`BARTFile.readKSpace`, by extension).
    public static func read(_ path: String) throws -> KSpaceFile {
        if path.hasSuffix(".cfl") || path.hasSuffix(".hdr") { return try BARTFile.readKSpace(path) }
        let f = try HDF5File(readingFrom: path)
        if ISMRMRDFile.isRawData(f) { return try ISMRMRDFile.read(f) }
        let info = try f.datasetInfo("kspace")
        guard info.shape.count == 3 || info.shape.count == 4 else {
            throw GantryError.invalidFile(path: path, problem: "kspace has shape \(info.shape), expected [slices, coils, ky, kx] or [slices, ky, kx]")
        }
        guard info.shape.allSatisfy({ $0 > 0 }) else {
            throw GantryError.invalidFile(path: path, problem: "kspace has shape \(info.shape)\(info.shape.count == 4 && info.shape[1] == 0 ? ": zero coils" : ": an empty axis")")
        }
        // Companion datasets are checked by name and shape before they are read, not by count.
        let plane = Array(info.shape.suffix(2))
        if f.contains("sensitivity_map") {
            let m = try f.datasetInfo("sensitivity_map").shape
            guard m == info.shape else {
                throw GantryError.invalidFile(path: path, problem: "sensitivity_map has shape \(m); kspace \(info.shape) needs the same [slices, coils, ky, kx]")
            }
        }
        if f.contains("mask") {
            let m = try f.datasetInfo("mask").shape
            guard m == [plane[1]] || m == plane else {
                throw GantryError.invalidFile(path: path, problem: "mask has shape \(m); expected [\(plane[1])] (over kx) or \(plane) for kspace \(info.shape)")
            }
        }
        if f.contains("reconstruction_rss") {
            let r = try f.datasetInfo("reconstruction_rss").shape
            guard r.count == 3, r[0] == info.shape[0] else {
                throw GantryError.invalidFile(path: path, problem: "reconstruction_rss has shape \(r); expected [\(info.shape[0]), y, x], one image per slice")
            }
        }
        let k = try f.readComplex("kspace")
        var file = try KSpaceFile(shape: k.shape, kspace: k.data)
        if f.contains("mask") { file.mask = try f.readFloats("mask") }
        if f.contains("reconstruction_rss") { file.reconstructionRSS = try f.readFloats("reconstruction_rss") }
        if f.contains("sensitivity_map") { file.sensitivityMaps = try f.readComplex("sensitivity_map") }
        file.max = (try? f.attribute("max"))?.asDouble
        file.norm = (try? f.attribute("norm"))?.asDouble
        if case .string(let s)? = try? f.attribute("acquisition") { file.acquisition = s }
        if case .string(let s)? = try? f.attribute("patient_id") { file.patientID = s }
        file.accelerationAttribute = (try? f.attribute("acceleration"))?.asDouble
        file.lowFrequencyLines = (try? f.attribute("num_low_frequency"))?.asDouble.flatMap { Int(exactly: $0) }
        file.geometry = try KSpaceGeometry.read(f, kspaceShape: info.shape, path: path)
        if f.contains("ismrmrd_header") {
            let xml = try f.readString("ismrmrd_header")
            let header = try ISMRMRDHeader.parse(xml, path: path)
            // The readout is the k-space's second-to-last axis; a header that says otherwise
            // describes another file.
            if let header, header.encoded.matrix[0] != info.shape[info.shape.count - 2] {
                throw GantryError.invalidFile(path: path, problem: "ismrmrd_header encodedSpace x (readout) is \(header.encoded.matrix[0]) but kspace \(info.shape) has \(info.shape[info.shape.count - 2]) readout samples")
            }
            file.headerXML = xml
            file.header = header
        }
        return file
    }

    /// Writes the file atomically.
    public func write(_ path: String) throws {
        try HDF5Writer.create(path) { f in
            try f.writeComplex("kspace", shape: shape, data: kspace)
            if let m = mask { try f.writeFloats("mask", shape: m.shape, data: m.data) }
            if let r = reconstructionRSS { try f.writeFloats("reconstruction_rss", shape: r.shape, data: r.data) }
            if let m = sensitivityMaps { try f.writeComplex("sensitivity_map", shape: m.shape, data: m.data) }
            if let v = max { try f.setAttribute("max", .double(v)) }
            if let v = norm { try f.setAttribute("norm", .double(v)) }
            if let v = acquisition { try f.setAttribute("acquisition", .string(v)) }
            try writeHeaderAndAttributes(f)
        }
    }

    /// The header and the fastMRI attributes other than `max`/`norm`/`acquisition`, as read.
    public func writeHeaderAndAttributes(_ f: HDF5Writer) throws {
        if let x = headerXML { try f.writeString("ismrmrd_header", x) }
        if let v = patientID { try f.setAttribute("patient_id", .string(v)) }
        if let v = accelerationAttribute { try f.setAttribute("acceleration", .double(v)) }
        if let v = lowFrequencyLines { try f.setAttribute("num_low_frequency", .int(v)) }
        try geometry?.write(f)
    }
}
