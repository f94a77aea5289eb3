import ArgumentParser
import Foundation
import GantryCore
import GantryIO
import GantryMetrics

extension Gantry {
    struct Dice: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Dice, HD95 (mm) and volumes (mL) of a predicted label map against a reference.",
            discussion: "Empty-mask rule: Dice 1 / HD95 0 when both are empty; Dice 0 / HD95 n/a when only one is."
        )

        @Option(help: "Predicted label map.")
        var pred: String

        @Option(help: "Reference label map (same grid).")
        var ref: String

        @Option(help: "Labels to score, comma-separated (default: every non-zero label in the reference).")
        var labels: String?

        @Flag(help: "Add the BraTS regions WT, TC and ET (labels per --label-convention).")
        var brats = false

        @Option(help: "BraTS labels: brats2023 (enhancing tumour = 3, Gantry's) or brats2021 (= 4, the challenges up to 2021).")
        var labelConvention: BraTSConvention = .brats2023

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() throws {
            let p = try VolumeFile.read(pred), r = try VolumeFile.read(ref)
            let list: [Int]
            if let labels {
                let parsed = labels.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard parsed.allSatisfy({ $0 != nil }) else { throw ValidationError("--labels must be integers like 1,2,3") }
                list = parsed.compactMap { $0 }
            } else {
                list = Set(r.data.map { Int($0.rounded()) }).filter { $0 != 0 }.sorted()
            }
            if brats, let w = labelConvention.mismatch(in: Set(r.data.map { Int($0.rounded()) })) { Log.warning(w) }
            let t0 = Date()
            Log.progress("dice: \(list.count) label(s)\(brats ? " and the WT/TC/ET regions" : "") on a \(r.spatialShape.map(String.init).joined(separator: "×")) grid…")
            let results = try SegmentationMetrics.compare(pred: p, ref: r, labels: list, regions: brats ? labelConvention.regions : [])
            Log.detail(String(format: "dice: scored in %.2f s", Date().timeIntervalSince(t0)))
            if json {
                let dict = Dictionary(uniqueKeysWithValues: results.map { ($0.0, $0.1) })
                print(String(decoding: try FileIO.jsonBytes(encoding: dict), as: UTF8.self))
                return
            }
            print("label      Dice   HD95(mm)  pred(mL)   ref(mL)        TP        FP        FN")
            for (l, m) in results {
                let hd = m.hd95.map { String(format: "%8.2f", $0) } ?? "     n/a"
                print(String(format: "%-6@ %8.4f   %@ %9.2f %9.2f %9d %9d %9d", l as NSString, m.dice, hd, m.volumePredML, m.volumeRefML, m.tp, m.fp, m.fn))
            }
        }
    }
}
