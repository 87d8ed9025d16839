import CCairo
import PNGWriter

/// A cairo image surface that ends as PNG bytes. The only user of cairo in gobot.
final class PNGCanvas {
    let surface: OpaquePointer
    let cr: OpaquePointer
    let width: Int32, height: Int32

    init(width: Int, height: Int) {
        self.width = Int32(width)
        self.height = Int32(height)
        surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, self.width, self.height)
        cr = cairo_create(surface)
        cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)
        // Grayscale antialiasing keeps the output identical across runs and displays.
        let options = cairo_font_options_create()
        cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY)
        cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE)
        cairo_set_font_options(cr, options)
        cairo_font_options_destroy(options)
    }

    deinit {
        cairo_destroy(cr)
        cairo_surface_destroy(surface)
    }

    func color(_ r: Double, _ g: Double, _ b: Double) { cairo_set_source_rgb(cr, r, g, b) }
    func fillRect(_ x: Double, _ y: Double, _ w: Double, _ h: Double) { cairo_rectangle(cr, x, y, w, h); cairo_fill(cr) }

    func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, width: Double = 1) {
        cairo_set_line_width(cr, width)
        cairo_move_to(cr, x0, y0)
        cairo_line_to(cr, x1, y1)
        cairo_stroke(cr)
    }

    func polyline(_ points: [(Double, Double)], width: Double) {
        guard let first = points.first else { return }
        cairo_set_line_width(cr, width)
        cairo_move_to(cr, first.0, first.1)
        for p in points.dropFirst() { cairo_line_to(cr, p.0, p.1) }
        cairo_stroke(cr)
    }

    func text(_ s: String, x: Double, y: Double, size: Double) {
        cairo_set_font_size(cr, size)
        cairo_move_to(cr, x, y)
        cairo_show_text(cr, s)
    }

    /// Lossless PNG of the surface, at zlib level 1 (see PNGWriter.c for the figures).
    func png() -> [UInt8] {
        cairo_surface_flush(surface)
        guard let base = cairo_image_surface_get_data(surface) else { return [] }
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        guard gobot_png_encode_xrgb(base, width, height, cairo_image_surface_get_stride(surface), 1, &out, &size) != 0, let out else { return [] }
        defer { gobot_png_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }
}
