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
                    XCTAssertTrue(FileManager.default.fileExists(atPath: root.appendingPathComponent(model).path), "\(file): \(model) is not shipped")
                }
            }
        }
    }
}
