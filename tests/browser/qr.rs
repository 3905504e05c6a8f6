//! Reading QR codes off screenshots, as a phone's camera would read a printed label.

/// The texts of every QR code in a PNG screenshot. A code that is found but cannot
/// be read is an error, so a blurred or clipped code is never silently skipped.
pub fn decode_png(png: &[u8]) -> Result<Vec<String>, String> {
    let (width, height, luma) = greyscale(png)?;
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| luma[y * width + x]);
    image
        .detect_grids()
        .iter()
        .map(|grid| {
            grid.decode()
                .map(|(_, text)| text)
                .map_err(|e| format!("a QR code was found but could not be read: {e}"))
        })
        .collect()
}

/// Decodes a PNG to 8-bit luminance, one byte a pixel, row by row, laying any
/// transparency over white as paper would show it.
fn greyscale(png: &[u8]) -> Result<(usize, usize, Vec<u8>), String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| format!("PNG: {e}"))?;
    let size = reader
        .output_buffer_size()
        .ok_or("PNG: too large to decode")?;
    let mut buf = vec![0; size];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("PNG: {e}"))?;
    let (width, height) = (frame.width as usize, frame.height as usize);
    let channels = frame.color_type.samples();
    let mut luma = Vec::with_capacity(width * height);
    for row in buf[..frame.buffer_size()].chunks_exact(frame.line_size) {
        for px in row[..width * channels].chunks_exact(channels) {
            let (grey, alpha) = match *px {
                [g] => (u32::from(g), 255),
                [g, a] => (u32::from(g), u32::from(a)),
                [r, g, b] => (rec601(r, g, b), 255),
                [r, g, b, a] => (rec601(r, g, b), u32::from(a)),
                _ => return Err(format!("PNG: {channels} channels a pixel")),
            };
            // Over white: grey·α + 255·(1−α).
            luma.push(((grey * alpha + 255 * (255 - alpha)) / 255) as u8);
        }
    }
    Ok((width, height, luma))
}

fn rec601(r: u8, g: u8, b: u8) -> u32 {
    (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b)) / 1000
}
