import CCairo

/// Reads a PNG back into pixels, so tests (and audits) can check what a chart shows.
public struct PNGPixels {
    let data: [UInt32]
    public let width: Int
    public let height: Int
    let stride: Int

    public init(path: String) throws {
        let surface = cairo_image_surface_create_from_png(path)
        defer { cairo_surface_destroy(surface) }
        guard cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS, let base = cairo_image_surface_get_data(surface) else {
            throw PNGError.unreadable(path)
        }
        width = Int(cairo_image_surface_get_width(surface))
        height = Int(cairo_image_surface_get_height(surface))
        stride = Int(cairo_image_surface_get_stride(surface)) / 4
        data = Array(UnsafeBufferPointer(start: UnsafeRawPointer(base).assumingMemoryBound(to: UInt32.self), count: stride * height))
    }

    public func rgb(x: Int, y: Int) -> (r: Int, g: Int, b: Int) {
        let v = data[y * stride + x]
        return (Int((v >> 16) & 0xFF), Int((v >> 8) & 0xFF), Int(v & 0xFF))
    }

    public enum PNGError: Error { case unreadable(String) }
}
