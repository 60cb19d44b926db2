"""Build the StyleGAN2 demo's image set: every colour emoji of Noto Color Emoji as an RGB square.

    python -m netbend_models.data.image_dataset --out data/emoji64 [--size 64] [--font PATH]

Needs the Debian package `fonts-noto-color-emoji` (the font, /usr/share/fonts/truetype/noto/
NotoColorEmoji.ttf: `apt-get install fonts-noto-color-emoji`) and the Python packages Pillow and
fontTools (both in models/requirements.txt). The font stores each emoji as a PNG bitmap (its CBDT
table, 136 px tall), so the images are read straight from the font, every glyph including
skin-tone, ZWJ and flag sequences, without text shaping. Each is composited on white (the
font's PNGs have alpha), centred on a square canvas and resized with a Lanczos filter.

Output: images.npy (uint8 [N, size, size, 3]), index.json (glyph name per row, source font,
package and version, licenses), READY. Licenses: the emoji images are Apache-2.0 and the font
file SIL OFL 1.1 (Debian's copyright file of fonts-noto-color-emoji); the dataset is not
committed, only built.
"""
from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from ..cli import run_tool

FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
PACKAGE = "fonts-noto-color-emoji"
LICENSES = {"images": "Apache-2.0", "font": "SIL Open Font License 1.1",
            "source": "/usr/share/doc/fonts-noto-color-emoji/copyright"}
MIN_GLYPH_PIXELS = 8  # the font's empty/space glyphs are tiny bitmaps: not images


def package_version(package: str) -> str | None:
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
        return out.stdout.strip() or None
    except OSError:
        return None


def glyph_bitmaps(font_path: Path):
    """(glyph name, PNG bytes) of every bitmap in the font's largest CBDT strike."""
    from fontTools.ttLib import TTFont
    font = TTFont(str(font_path))
    if "CBDT" not in font:
        raise ValueError(f"{font_path} has no CBDT colour bitmaps")
    strikes = font["CBDT"].strikeData
    largest = max(range(len(strikes)), key=lambda i: len(strikes[i]))
    for name, glyph in sorted(strikes[largest].items()):
        data = getattr(glyph, "imageData", None)
        if data:
            yield name, data


def to_square(png: bytes, size: int):
    """White-backed RGB, centred on a square of the longer side, resized to size x size; None for
    glyphs too small to be an image."""
    from PIL import Image
    im = Image.open(io.BytesIO(png)).convert("RGBA")
    if min(im.size) < MIN_GLYPH_PIXELS:
        return None
    side = max(im.size)
    canvas = Image.new("RGBA", (side, side), (255, 255, 255, 255))
    canvas.alpha_composite(im, ((side - im.width) // 2, (side - im.height) // 2))
    return np.asarray(canvas.convert("RGB").resize((size, size), Image.Resampling.LANCZOS), dtype=np.uint8)


def build(out: Path, size: int = 64, font: Path = FONT) -> int:
    if not font.is_file():
        sys.exit(f"{font} not found: install the Debian package {PACKAGE} (apt-get install {PACKAGE}) "
                 f"or pass --font")
    out.mkdir(parents=True, exist_ok=True)
    (out / "READY").unlink(missing_ok=True)
    names, images = [], []
    for name, png in glyph_bitmaps(font):
        img = to_square(png, size)
        if img is not None:
            names.append(name)
            images.append(img)
    np.save(out / "images.npy", np.stack(images))
    index = {"size": size, "count": len(names), "font": str(font), "package": PACKAGE,
             "package_version": package_version(PACKAGE), "licenses": LICENSES, "glyphs": names}
    (out / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    (out / "READY").write_text("ok\n")
    return len(names)


def main(argv=None):
    p = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--font", type=Path, default=FONT)
    args = p.parse_args(argv)
    n = build(args.out, args.size, args.font)
    print(f"wrote {n} images of {args.size} px to {args.out}")


if __name__ == "__main__":
    run_tool(main)
