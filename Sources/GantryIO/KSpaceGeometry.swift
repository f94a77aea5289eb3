import GantryCore

/// Where a k-space file's slices sit in the subject's image space, so its reconstruction can be
/// written as a NIfTI volume on exactly the grid of the subject's images (and segmented, registered
/// and scored like them). fastMRI files carry no patient position; Gantry's phantom studies store it
/// as three attributes of the file's root (documented in phantoms/README.md):
///
/// - `image_affine`: the image volume's voxel → world (RAS+, mm) matrix, 16 numbers row-major;
/// - `image_shape`: its grid `[nx, ny, nz]`;
/// - `slice_indices`: the image z index of each k-space slice.
///
/// A slice's reconstructed pixel (row r, column c), after readout oversampling is removed, is image
/// voxel (c, r, z): rows run along the image's y axis (the readout), columns along x (phase encode).
public struct KSpaceGeometry: Equatable, Sendable {
    public var affine: Affine
    public var imageShape: [Int]
    public var sliceIndices: [Int]

    public init(affine: Affine, imageShape: [Int], sliceIndices: [Int]) {
        self.affine = affine; self.imageShape = imageShape; self.sliceIndices = sliceIndices
    }

    static let names = ["image_affine", "image_shape", "slice_indices"]

    /// The three attributes of `f`, checked against the k-space shape; nil when the file has none.
    static func read(_ f: HDF5File, kspaceShape: [Int], path: String) throws -> KSpaceGeometry? {
        let present = names.filter { (try? f.attribute($0)) != nil }
        if present.isEmpty { return nil }
        guard present.count == names.count else {
            throw GantryError.invalidFile(path: path, problem: "has \(present.joined(separator: ", ")) but not \(names.filter { !present.contains($0) }.joined(separator: ", ")); the image geometry needs all three")
        }
        func numbers(_ name: String) throws -> [Double] {
            switch try f.attribute(name) {
            case .doubles(let a): return a
            case .double(let d): return [d]
            case .int(let i): return [Double(i)]
            case .string: throw GantryError.invalidFile(path: path, problem: "attribute \(name) is text, not numbers")
            }
        }
        let a = try numbers("image_affine"), s = try numbers("image_shape"), z = try numbers("slice_indices")
        guard a.count == 16, a.allSatisfy(\.isFinite), a[12...] == [0, 0, 0, 1] else {
            throw GantryError.invalidFile(path: path, problem: "image_affine must be 16 finite numbers (a 4×4 row-major matrix ending 0 0 0 1)")
        }
        guard s.count == 3, s.allSatisfy({ $0 >= 1 && $0 <= 65_536 && $0 == $0.rounded() }) else {
            throw GantryError.invalidFile(path: path, problem: "image_shape must be three whole numbers 1…65536, got \(s)")
        }
        let shape = s.map { Int($0) }
        guard z.count == kspaceShape[0], z.allSatisfy({ $0 >= 0 && $0 < s[2] && $0 == $0.rounded() }) else {
            throw GantryError.invalidFile(path: path, problem: "slice_indices must give one image z index in 0..<\(shape[2]) for each of the \(kspaceShape[0]) k-space slices")
        }
        let geometry = KSpaceGeometry(affine: Affine(rowMajor: a), imageShape: shape, sliceIndices: z.map { Int($0) })
        guard Affine(rowMajor: a).inverse != nil else { throw GantryError.invalidFile(path: path, problem: "image_affine is singular") }
        return geometry
    }

    func write(_ f: HDF5Writer) throws {
        try f.setAttribute("image_affine", .doubles(affine.m))
        try f.setAttribute("image_shape", .doubles(imageShape.map(Double.init)))
        try f.setAttribute("slice_indices", .doubles(sliceIndices.map(Double.init)))
    }

    /// The volume that `images` ([slices][rows][columns], C order) form on the image grid: the slab
    /// of the image from the first slice index to the last. Refused when the reconstruction's plane is
    /// not the image's (rows = ny, columns = nx) or the slices are not consecutive.
    public func volume(images: [Float], rows: Int, columns: Int) throws -> Volume {
        guard rows == imageShape[1], columns == imageShape[0] else {
            throw GantryError.invalidArgument("the reconstruction is \(rows)×\(columns) (rows × columns) but the image grid it belongs to is \(imageShape[1])×\(imageShape[0]) (y × x)")
        }
        guard let first = sliceIndices.first, sliceIndices == Array(first..<(first + sliceIndices.count)) else {
            throw GantryError.invalidArgument("k-space slices \(sliceIndices) are not consecutive image planes; they do not form a volume")
        }
        let slab = affine * Affine(rowMajor: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, Double(first), 0, 0, 0, 1])
        return try Volume(shape: [columns, rows, sliceIndices.count], affine: slab, data: images)
    }
}
