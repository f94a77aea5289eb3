import Foundation
@testable import GantryPipeline
import XCTest

/// Every pipeline in `pipelines/` parses, names known stages with well-typed parameters, and points
/// at models that ship in the repository.
final class ShippedPipelinesTests: XCTestCase {
    func testShippedPipelinesAreValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
        let dir = root.appendingPathComponent("pipelines")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 5)
        for file in files {
            let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            let spec = try PipelineSpec.parse(text, path: file)
            for stage in spec.stages {
                let kind = try XCTUnwrap(StageRegistry.all[stage.uses], "\(file): stage \(stage.id) uses unknown \(stage.uses)")
                for (key, value) in stage.parameters {
                    let spec = try XCTUnwrap(kind.parameters.first { $0.name == key }, "\(file): \(stage.id) has no parameter \(key)")
                    XCTAssertTrue(spec.type.accepts(value), "\(file): \(stage.id).\(key) = \(value) is not \(spec.type.rawValue)")
                }
                if let model = stage.parameters["model"]?.stringValue {
                    // Relative to the pipeline file, so a pipeline runs from any folder.
                    XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(model).standardized.path), "\(file): \(model) is not shipped")
                }
            }
        }
    }

    /// Model paths resolve against the pipeline file's folder (not the working directory), then the
    /// models search path; a missing model is refused when the plan is made, before any stage.
    func testModelPathsResolveBesideThePipelineAndAreCheckedFirst() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
        let pipeline = root.appendingPathComponent("pipelines/brain-tumour-segmentation.yaml").path
        let study = TestStudy.path
        let spec = try PipelineSpec.load(pipeline)
        let plan = try Plan.make(spec: spec, study: study, out: tempOut())
        let model = try XCTUnwrap(plan.steps.compactMap { $0.parameters["model"]?.stringValue }.first)
        XCTAssertEqual(model, root.appendingPathComponent("models/brain-tumour-unet3d.safetensors").path)
        // Named relative to the working directory (as `gantry run pipelines/x.yaml` from the repository).
        let cwd = FileManager.default.currentDirectoryPath
        defer { _ = FileManager.default.changeCurrentDirectoryPath(cwd) }
        _ = FileManager.default.changeCurrentDirectoryPath(root.path)
        let relative = try Plan.make(spec: try PipelineSpec.load("pipelines/brain-tumour-segmentation.yaml"), study: study, out: tempOut())
        XCTAssertEqual(relative.steps.compactMap { $0.parameters["model"]?.stringValue }.first, model)
        _ = FileManager.default.changeCurrentDirectoryPath(cwd)

        // The same pipeline copied elsewhere: its ../models is gone, so the search path decides.
        let elsewhere = tempOut()
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: elsewhere) }
        try FileManager.default.copyItem(atPath: pipeline, toPath: elsewhere + "/p.yaml")
        let moved = try PipelineSpec.load(elsewhere + "/p.yaml")
        XCTAssertThrowsError(try Plan.make(spec: moved, study: study, out: tempOut(), models: ["/nonexistent"])) { e in
            XCTAssertTrue("\(e)".contains("model '../models/brain-tumour-unet3d.safetensors' not found"), "\(e)")
        }
        let found = try Plan.make(spec: moved, study: study, out: tempOut(), models: [root.appendingPathComponent("models").path])
        XCTAssertEqual(found.steps.compactMap { $0.parameters["model"]?.stringValue }.first, model)
    }
}
