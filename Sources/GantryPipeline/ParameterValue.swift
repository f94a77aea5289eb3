/// A typed parameter value from a pipeline's `with:` block.
public enum ParameterValue: Equatable, Sendable, CustomStringConvertible, Codable {
    case int(Int)
    case double(Double)
    case string(String)
    case bool(Bool)
    case list([ParameterValue])

    public var description: String {
        switch self {
        case .int(let v): return "\(v)"
        case .double(let v): return "\(v)"
        case .string(let v): return v
        case .bool(let v): return "\(v)"
        case .list(let l): return "[" + l.map(\.description).joined(separator: ", ") + "]"
        }
    }

    /// Canonical JSON text (used in cache keys and provenance).
    public var json: String {
        switch self {
        case .int(let v): return "\(v)"
        case .double(let v): return v.isFinite ? "\(v)" : "null"
        case .string(let v): return "\"" + v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        case .bool(let v): return v ? "true" : "false"
        case .list(let l): return "[" + l.map(\.json).joined(separator: ",") + "]"
        }
    }

    /// As a Foundation JSON object (for provenance files).
    public var jsonObject: Any {
        switch self {
        case .int(let v): return v
        case .double(let v): return v
        case .string(let v): return v
        case .bool(let v): return v
        case .list(let l): return l.map(\.jsonObject)
        }
    }

    public var intValue: Int? { if case .int(let v) = self { return v }; return nil }
    public var doubleValue: Double? {
        switch self { case .double(let v): return v; case .int(let v): return Double(v); default: return nil }
    }
    public var stringValue: String? { if case .string(let v) = self { return v }; return nil }
    public var boolValue: Bool? { if case .bool(let v) = self { return v }; return nil }
    public var intList: [Int]? {
        if case .list(let l) = self { let v = l.compactMap(\.intValue); return v.count == l.count ? v : nil }
        return nil
    }
}

/// The type a stage declares for a parameter.
public enum ParameterType: String, Sendable {
    case int, double, string, bool, intList = "list of int"
    /// A file the stage reads (a model checkpoint): resolved when the plan is made (relative to the
    /// pipeline file's folder, then the models search path) and checked before any stage runs; its
    /// content, not its path, enters the cache key.
    case file = "file path"

    func accepts(_ v: ParameterValue) -> Bool {
        switch (self, v) {
        case (.int, .int), (.double, .double), (.double, .int), (.string, .string), (.file, .string), (.bool, .bool): return true
        case (.intList, .list(let l)): return l.allSatisfy { $0.intValue != nil }
        default: return false
        }
    }
}

/// A parameter a stage kind accepts.
public struct ParameterSpec: Sendable {
    public var name: String
    public var type: ParameterType
    /// nil: required.
    public var defaultValue: ParameterValue?
    public var help: String

    public init(_ name: String, _ type: ParameterType, default value: ParameterValue? = nil, help: String) {
        self.name = name; self.type = type; self.defaultValue = value; self.help = help
    }
}
