"""Small, real JPEG photos for the demo and the tests: a cluttered workshop floor "before" and
the same corner with shelves and marked walkways "after", drawn with Pillow."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw


def workshop_photo(
    path: Path, *, after: bool, seed: int = 1, size: tuple[int, int] = (640, 480)
) -> Path:
    rng = random.Random(seed)
    width, height = size
    image = Image.new("RGB", size, (214, 204, 186))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, width, height * 0.45], fill=(236, 232, 222))  # the wall
    draw.rectangle([0, height * 0.45, width, height], fill=(170, 160, 145))  # the floor
    if after:
        # Shelves on the wall with boxes in rows, a yellow walkway, a clear floor.
        for row in range(3):
            y = 40 + row * 60
            draw.rectangle([60, y + 45, width - 60, y + 52], fill=(120, 80, 40))
            for column in range(8):
                x = 80 + column * 62
                draw.rectangle([x, y, x + 44, y + 44], fill=(196, 140, 70), outline=(90, 60, 30))
        draw.rectangle([0, height * 0.72, width, height * 0.72 + 10], fill=(245, 200, 20))
        draw.rectangle([0, height * 0.92, width, height * 0.92 + 10], fill=(245, 200, 20))
        draw.rectangle([width - 150, height * 0.5, width - 40, height * 0.68], fill=(60, 120, 80))
    else:
        # Boxes, planks and cables scattered over the floor.
        for _ in range(26):
            x = rng.randint(0, width - 80)
            y = rng.randint(int(height * 0.45), height - 40)
            w, h = rng.randint(30, 90), rng.randint(20, 60)
            colour = rng.choice([(196, 140, 70), (150, 110, 60), (90, 90, 90), (180, 60, 50)])
            draw.rectangle([x, y, x + w, y + h], fill=colour, outline=(60, 40, 20))
        for _ in range(6):
            points = [
                (rng.randint(0, width), rng.randint(int(height * 0.5), height)) for _ in range(4)
            ]
            draw.line(points, fill=(30, 30, 30), width=4)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", quality=85)
    return path
