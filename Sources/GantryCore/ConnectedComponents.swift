/// Connected-component labelling of a 3D binary mask (x fastest), as `scipy.ndimage.label` /
/// cc3d: breadth-first flood fill, components numbered 1… in scan order.
public enum ConnectedComponents {
    /// Which neighbours touch: faces (6), faces + edges (18), or all 26 (MONAI's default).
    public enum Connectivity: Int, Sendable { case faces = 6, edges = 18, full = 26 }

    /// Component index per voxel (0 = background) and each component's voxel count (`sizes[i - 1]`).
    public static func label(_ mask: [Bool], shape: [Int], connectivity: Connectivity = .full) -> (labels: [Int32], sizes: [Int]) {
        precondition(shape.count == 3 && mask.count == shape.reduce(1, *), "label: mask and 3D shape disagree")
        let (nx, ny, nz) = (shape[0], shape[1], shape[2])
        let order = connectivity == .faces ? 1 : connectivity == .edges ? 2 : 3
        var offsets: [(Int, Int, Int)] = []
        for dz in -1...1 { for dy in -1...1 { for dx in -1...1 {
            let n = abs(dx) + abs(dy) + abs(dz)
            if n > 0 && n <= order { offsets.append((dx, dy, dz)) }
        } } }
        var labels = [Int32](repeating: 0, count: mask.count)
        var sizes: [Int] = []
        var queue = [Int]()
        for start in 0..<mask.count where mask[start] && labels[start] == 0 {
            let id = Int32(sizes.count + 1)
            labels[start] = id
            queue.removeAll(keepingCapacity: true)
            queue.append(start)
            var head = 0
            while head < queue.count {
                let v = queue[head]; head += 1
                let x = v % nx, y = (v / nx) % ny, z = v / (nx * ny)
                for (dx, dy, dz) in offsets {
                    let (a, b, c) = (x + dx, y + dy, z + dz)
                    guard a >= 0, a < nx, b >= 0, b < ny, c >= 0, c < nz else { continue }
                    let w = a + nx * (b + ny * c)
                    if mask[w] && labels[w] == 0 { labels[w] = id; queue.append(w) }
                }
            }
            sizes.append(queue.count)
        }
        return (labels, sizes)
    }
}

extension Volume {
    /// MONAI's `KeepLargestConnectedComponent` (independent): for each label in `labels` (default:
    /// every non-zero value present), voxels outside that label's largest component become 0.
    /// Segmentation clean-up: removes spurious islands far from the lesion.
    public func keepingLargestComponent(labels: [Int]? = nil, connectivity: ConnectedComponents.Connectivity = .full) throws -> Volume {
        guard data.count == spatialCount else { throw GantryError.invalidArgument("largest-component clean-up needs a 3D label map") }
        let values = data.map { Int($0.rounded()) }
        let targets = labels ?? Array(Set(values.filter { $0 != 0 })).sorted()
        var out = data
        let s = spatialShape
        for label in targets {
            let (components, sizes) = ConnectedComponents.label(values.map { $0 == label }, shape: s, connectivity: connectivity)
            guard let largest = sizes.indices.max(by: { sizes[$0] < sizes[$1] || (sizes[$0] == sizes[$1] && $0 > $1) }) else { continue }
            for i in 0..<out.count where components[i] != 0 && components[i] != Int32(largest + 1) { out[i] = 0 }
        }
        return try Volume(shape: shape, affine: affine, data: out, header: header)
    }

    /// MONAI's `RemoveSmallObjects` in physical units: connected components of the non-zero voxels
    /// (all labels together) smaller than `minimumMM3` become 0 — isolated specks a network calls
    /// lesion, while a lesion's parts that touch stay whole.
    public func removingSmallComponents(minimumMM3: Double, connectivity: ConnectedComponents.Connectivity = .full) throws -> Volume {
        guard data.count == spatialCount else { throw GantryError.invalidArgument("small-component clean-up needs a 3D label map") }
        let voxelMM3 = spacing.prefix(3).reduce(1, *)
        let (components, sizes) = ConnectedComponents.label(data.map { $0 != 0 }, shape: spatialShape, connectivity: connectivity)
        let small = sizes.map { Double($0) * voxelMM3 < minimumMM3 }
        var out = data
        for i in 0..<out.count where components[i] != 0 && small[Int(components[i]) - 1] { out[i] = 0 }
        return try Volume(shape: shape, affine: affine, data: out, header: header)
    }
}
