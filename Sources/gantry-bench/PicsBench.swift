import ArgumentParser
import GantryIO
import GantryRecon

struct PicsBench: BenchCommand {
    static let configuration = CommandConfiguration(commandName: "pics", abstract: "CS-L1 and ESPIRiT on the BART-made slices (BART runs the same).")
    @Argument(help: "Working folder (inputs and outputs of the run).") var dir: String

    func measure() throws {
        // CS-L1 (50 iterations, λ 0.01) on BART-made 8-coil slices with BART ESPIRiT maps.
        for size in [256, 320] {
            let base = "\(dir)/pics\(size)"
            let k = try BARTFile.read(base + "_us").data, maps = try BARTFile.read(base + "_maps").data
            let maskC = try BARTFile.read(base + "_mask").data
            let mask = (0..<(size * size)).map { maskC[2 * $0] }
            var result: [Float] = []
            try time("pics -l1 8-coil \(size)² 50 it", repeats: 3, extra: ["variant": "Gantry cs-l1, BART maps"]) {
                result = try Reconstructor.reconstructSlice(k, mask: mask, coils: 8, ny: size, nx: size,
                                                            options: ReconOptions(method: .csL1, lambda: 0.01, iterations: 50, mapsFromFile: true), fileMaps: maps)
            }
            try BARTFile.write(base + "_gantry", dims: [size, size], data: result.flatMap { [$0, 0] })
            let kc = try BARTFile.read(base + "_us").data
            try time("ecalib 8-coil \(size)²", repeats: 3, extra: ["variant": "Gantry ESPIRiT (24² calibration, 6² kernel)"]) {
                _ = try ESPIRiT.maps(kspace: kc, mask: mask, coils: 8, ny: size, nx: size)
            }
        }
    }
}
