package uploads

import (
	"bytes"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // registers the WebP decoder
)

// maxGIFFrames caps an animated GIF's frames, so frames × pixels stays
// bounded too.
const maxGIFFrames = 200

type reencoded struct {
	data          []byte
	ctype, ext    string
	width, height int
}

// reencode reads an image (at most limit bytes), checks its dimensions
// against storage.max_pixels from the header before decoding it, decodes
// it and encodes it again, which keeps the pixels and drops everything
// else (EXIF, GPS, comments, trailing data such as an appended HTML page).
func (m *Manager) reencode(src io.Reader, limit int64, body *countingBody) (*reencoded, error) {
	var buf bytes.Buffer
	lr := &limitReader{r: src, limit: limit, body: body}
	if _, err := buf.ReadFrom(lr); err != nil {
		if lr.err != nil {
			return nil, lr.err
		}
		return nil, readError(err)
	}
	data := buf.Bytes()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, unprocessable("The image could not be read: it is damaged or not really an image.")
	}
	if err := m.checkPixels(cfg, 1); err != nil {
		return nil, err
	}
	out := &reencoded{width: cfg.Width, height: cfg.Height}
	var enc bytes.Buffer
	switch format {
	case "gif":
		g, err := gif.DecodeAll(bytes.NewReader(data))
		if err != nil {
			return nil, unprocessable("The image could not be read: it is damaged or not really an image.")
		}
		if len(g.Image) > maxGIFFrames {
			return nil, unprocessable(fmt.Sprintf("The animation has %d frames; at most %d are accepted.", len(g.Image), maxGIFFrames))
		}
		if err := m.checkPixels(cfg, len(g.Image)); err != nil {
			return nil, err
		}
		if err := gif.EncodeAll(&enc, g); err != nil {
			return nil, fmt.Errorf("uploads: encoding a GIF: %w", err)
		}
		out.ctype, out.ext = "image/gif", ".gif"
	default:
		img, _, err := image.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, unprocessable("The image could not be read: it is damaged or not really an image.")
		}
		switch format {
		case "jpeg":
			err = jpeg.Encode(&enc, img, &jpeg.Options{Quality: 90})
			out.ctype, out.ext = "image/jpeg", ".jpg"
		default: // png, and webp, which has no encoder in x/image
			err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&enc, img)
			out.ctype, out.ext = "image/png", ".png"
		}
		if err != nil {
			return nil, fmt.Errorf("uploads: encoding an image: %w", err)
		}
	}
	out.data = enc.Bytes()
	return out, nil
}

// checkPixels refuses images larger than storage.max_pixels (frames:
// how many such images an animation holds).
func (m *Manager) checkPixels(cfg image.Config, frames int) error {
	px := int64(cfg.Width) * int64(cfg.Height)
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return unprocessable("The image has no pixels.")
	}
	if px*int64(frames) > m.cfg.MaxPixels {
		return unprocessable(fmt.Sprintf("The image is %d × %d pixels%s; at most %d megapixels are accepted.",
			cfg.Width, cfg.Height, map[bool]string{true: fmt.Sprintf(" in %d frames", frames), false: ""}[frames > 1], max(m.cfg.MaxPixels/1_000_000, 1)))
	}
	return nil
}

// thumbnail scales img to fit in size × size, keeping its proportions.
func thumbnail(img image.Image, size int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= size && h <= size {
		size = max(w, h)
	}
	tw, th := size, size
	if w > h {
		th = max(1, h*size/w)
	} else {
		tw = max(1, w*size/h)
	}
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Over, nil)
	return dst
}
