import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import GantryCore

/// The facts Gantry takes from an ISMRMRD XML header (fastMRI keeps it in the `ismrmrd_header`
/// dataset; ISMRMRD raw files in `/dataset/xml`): the encoded and reconstructed matrix sizes and
/// fields of view of the first encoding. The readout is x: fastMRI's k-space `[…, 640, 320]` has an
/// encoded x of 640 (2× readout oversampling) and a recon x of 320.
public struct ISMRMRDHeader: Equatable, Sendable {
    public struct Space: Equatable, Sendable {
        /// Matrix size (x = readout, y = phase encode, z = partitions or 1).
        public var matrix: [Int]
        /// Field of view in mm, same order.
        public var fieldOfView: [Double]

        public init(matrix: [Int], fieldOfView: [Double]) { self.matrix = matrix; self.fieldOfView = fieldOfView }
    }

    public var encoded: Space
    public var recon: Space
    /// `cartesian`, `radial`, `spiral`, … (nil when the header does not say).
    public var trajectory: String?

    /// Parses the header with a real XML parser; `path` names the file in errors. nil when the
    /// document has no `<encoding>` (a placeholder header: nothing to take from it).
    public static func parse(_ xml: String, path: String) throws -> ISMRMRDHeader? {
        let collector = Collector()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = collector
        guard parser.parse(), collector.closed else {
            let line = parser.lineNumber
            throw GantryError.invalidFile(path: path, problem: "ismrmrd_header is not well-formed XML (line \(line): \(parser.parserError.map { "\($0.localizedDescription)" } ?? "unclosed elements"))")
        }
        guard collector.encodings > 0 else { return nil }
        func space(_ name: String) throws -> Space {
            let m = ["x", "y", "z"].map { collector.values["encoding/\(name)/matrixSize/\($0)"].flatMap { Int($0) } }
            let f = ["x", "y", "z"].map { collector.values["encoding/\(name)/fieldOfView_mm/\($0)"].flatMap { Double($0) } }
            guard let mx = m[0], let my = m[1], let fx = f[0], let fy = f[1] else {
                throw GantryError.invalidFile(path: path, problem: "ismrmrd_header lacks encoding/\(name)/matrixSize or fieldOfView_mm")
            }
            let matrix = [mx, my, m[2] ?? 1], fov = [fx, fy, f[2] ?? 0]
            guard matrix.allSatisfy({ (1...65536).contains($0) }), fov.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                throw GantryError.invalidFile(path: path, problem: "ismrmrd_header \(name): matrix \(matrix) or field of view \(fov) out of range")
            }
            return Space(matrix: matrix, fieldOfView: fov)
        }
        return ISMRMRDHeader(encoded: try space("encodedSpace"), recon: try space("reconSpace"), trajectory: collector.values["encoding/trajectory"])
    }

    public init(encoded: Space, recon: Space, trajectory: String?) {
        self.encoded = encoded; self.recon = recon; self.trajectory = trajectory
    }

    /// The header as an ISMRMRD XML document holding what Gantry reads (one `<encoding>`): what a
    /// simulated acquisition stores in its `ismrmrd_header`, as scanners' converters do.
    public var xml: String {
        func space(_ name: String, _ s: Space) -> String {
            let m = zip(["x", "y", "z"], s.matrix).map { "<\($0)>\($1)</\($0)>" }.joined()
            let f = zip(["x", "y", "z"], s.fieldOfView).map { "<\($0)>\($1)</\($0)>" }.joined()
            return "<\(name)><matrixSize>\(m)</matrixSize><fieldOfView_mm>\(f)</fieldOfView_mm></\(name)>"
        }
        return """
        <?xml version="1.0" encoding="utf-8"?>
        <ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD"><encoding>\(space("encodedSpace", encoded))\(space("reconSpace", recon))\
        <trajectory>\(trajectory ?? "cartesian")</trajectory></encoding></ismrmrdHeader>
        """
    }

    /// Collects the text of elements under the first `<encoding>` by their path from it.
    final class Collector: NSObject, XMLParserDelegate {
        var values: [String: String] = [:]
        private var stack: [String] = []
        private var text = ""
        private(set) var encodings = 0
        private var started = false
        /// Every element opened was closed (libxml2 through XMLParser accepts a truncated document).
        var closed: Bool { started && stack.isEmpty }

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            if name == "encoding" { encodings += 1 }
            started = true
            stack.append(name)
            text = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if encodings == 1, let start = stack.firstIndex(of: "encoding") {
                let key = stack[start...].joined(separator: "/")
                let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
                if !value.isEmpty && values[key] == nil { values[key] = value }
            }
            stack.removeLast()
            text = ""
        }
    }
}
