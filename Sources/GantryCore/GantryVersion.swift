/// Gantry's version, written into provenance and `gantry --version`.
public enum GantryVersion {
    public static let string = "0.2.0"
}
