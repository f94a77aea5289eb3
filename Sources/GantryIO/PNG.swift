import CPNG
import GantryCore

/// 8-bit PNG images through libpng's simplified API (no setjmp, so errors come back as values).
public enum PNG {
    /// Encodes `pixels` (row-major, top row first; 1 byte per pixel for gray, 3 for RGB) as PNG bytes.
    public static func encode(width: Int, height: Int, pixels: [UInt8], rgb: Bool) throws -> [UInt8] {
        let channels = rgb ? 3 : 1
        guard width > 0, height > 0, pixels.count == width * height * channels else {
            throw GantryError.invalidArgument("PNG of \(width)×\(height)×\(channels) needs \(width * height * channels) bytes, got \(pixels.count)")
        }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = rgb ? 2 : 0  // PNG_FORMAT_RGB (= PNG_FORMAT_FLAG_COLOR) / PNG_FORMAT_GRAY
        var size: png_alloc_size_t = 0
        let stride = Int32(width * channels)
        let ok1 = pixels.withUnsafeBytes { png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, stride, nil) }
        guard ok1 != 0, size > 0 else { throw GantryError.invalidArgument("libpng could not size the image") }
        var out = [UInt8](repeating: 0, count: Int(size))
        let ok2 = out.withUnsafeMutableBytes { o in
            pixels.withUnsafeBytes { png_image_write_to_memory(&image, o.baseAddress, &size, 0, $0.baseAddress, stride, nil) }
        }
        png_image_free(&image)
        guard ok2 != 0 else { throw GantryError.invalidArgument("libpng could not encode the image") }
        out.removeLast(out.count - Int(size))
        return out
    }

    /// Writes a PNG atomically.
    public static func write(_ path: String, width: Int, height: Int, pixels: [UInt8], rgb: Bool) throws {
        try FileIO.writeAtomically(path, bytes: try encode(width: width, height: height, pixels: pixels, rgb: rgb))
    }
}
