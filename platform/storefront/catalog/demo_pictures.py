"""Pictures for the demo catalogs, drawn at install time with Pillow.

Each demo product gets a flat illustration of what it is (an anvil, rocket skates, a
tent…) on a background of its own, drawn at twice the size and scaled down for smooth
edges; products sold in colours get one picture per colour. They go through the same
upload path as an owner's pictures (``catalog.images.add_image``), so the demo shows
real renditions, srcset and galleries.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence

from PIL import Image, ImageDraw, ImageFilter, ImageFont

W, H = 1200, 900
S = 2  # drawn at twice the size, then scaled down: smooth edges without antialiasing
FLOOR = 700

Point = tuple[float, float]
Draw = ImageDraw.ImageDraw


def _p(points: Sequence[Point]) -> list[tuple[int, int]]:
    return [(round(x * S), round(y * S)) for x, y in points]


def _box(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
    return (round(x0 * S), round(y0 * S), round(x1 * S), round(y1 * S))


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size * S)


def _shade(colour: str, factor: float) -> str:
    """``colour`` lighter (factor > 1) or darker (< 1)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    if factor >= 1:
        r, g, b = (round(c + (255 - c) * (factor - 1)) for c in (r, g, b))
    else:
        r, g, b = (round(c * factor) for c in (r, g, b))
    return f"#{min(r, 255):02x}{min(g, 255):02x}{min(b, 255):02x}"


def _canvas(hue: str) -> Image.Image:
    """A soft vertical gradient in ``hue``, a floor, and the floor's horizon."""
    top, bottom = _shade(hue, 1.6), _shade(hue, 1.4)
    image = Image.new("RGB", (W * S, H * S), top)
    draw = ImageDraw.Draw(image)
    t = [int(top[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(bottom[i : i + 2], 16) for i in (1, 3, 5)]
    for y in range(0, H * S, 4):
        f = y / (H * S)
        draw.rectangle(
            (0, y, W * S, y + 4), fill=tuple(round(t[i] + (b[i] - t[i]) * f) for i in range(3))
        )
    draw.rectangle(_box(0, FLOOR + 40, W, H), fill=_shade(hue, 1.28))
    return image


def _shadow(image: Image.Image, cx: float, width: float, y: float = FLOOR) -> None:
    layer = Image.new("L", image.size, 0)
    ImageDraw.Draw(layer).ellipse(_box(cx - width / 2, y - 18, cx + width / 2, y + 22), fill=120)
    layer = layer.filter(ImageFilter.GaussianBlur(14 * S))
    image.paste((40, 40, 50), mask=layer)


def _glow(image: Image.Image, cx: float, cy: float, r: float, colour: str) -> None:
    layer = Image.new("L", image.size, 0)
    ImageDraw.Draw(layer).ellipse(_box(cx - r, cy - r, cx + r, cy + r), fill=150)
    layer = layer.filter(ImageFilter.GaussianBlur(r * S / 3))
    image.paste(colour, mask=layer)


def _label(draw: Draw, x: float, y: float, text: str, size: int, fill: str) -> None:
    draw.text((x * S, y * S), text, font=_font(size), fill=fill, anchor="mm")


# Acme ---------------------------------------------------------------------------------


def anvil(image: Image.Image, draw: Draw, scale: float = 1.0, steel: str = "#3b4149") -> None:
    cx = 600

    def t(points: Sequence[Point]) -> list[Point]:
        return [(cx + (x - cx) * scale, FLOOR - (FLOOR - y) * scale) for x, y in points]

    _shadow(image, cx, 560 * scale)
    body = [(290, 392), (360, 360), (470, 346), (862, 346), (884, 356), (884, 430), (806, 444),
            (724, 474), (724, 560), (828, 620), (836, FLOOR), (364, FLOOR), (372, 620), (476, 560),
            (476, 474), (430, 446), (360, 424)]  # fmt: skip
    draw.polygon(_p(t(body)), fill=steel)
    draw.polygon(_p(t([(470, 346), (862, 346), (884, 356), (480, 362)])), fill=_shade(steel, 1.7))
    draw.polygon(_p(t([(476, 474), (724, 474), (724, 490), (476, 490)])), fill=_shade(steel, 0.7))
    draw.polygon(_p(t([(372, 620), (476, 560), (490, 566), (392, 626)])), fill=_shade(steel, 1.4))
    draw.rectangle(_box(*t([(364, FLOOR - 18)])[0], *t([(836, FLOOR)])[0]), fill=_shade(steel, 0.6))
    _label(draw, cx, FLOOR - (FLOOR - 520) * scale, "ACME", round(34 * scale), _shade(steel, 1.9))


def desk_anvil(image: Image.Image, draw: Draw) -> None:
    draw.polygon(_p([(330, 712), (900, 712), (860, 650), (370, 650)]), fill="#fdfbf6")
    for y in range(668, 706, 12):
        draw.line(_p([(420, y), (800, y)]), fill="#c9d4e4", width=2 * S)
    anvil(image, draw, scale=0.55, steel="#6b4f2a")


def rocket(draw: Draw, cx: float, cy: float, length: float, angle: float, body: str = "#f4f1ea",
           trim: str = "#d1452f", flame: bool = True) -> None:  # fmt: skip
    """A rocket of ``length`` centred at (cx, cy), pointing ``angle`` degrees from up."""
    a = math.radians(angle)
    ux, uy = math.sin(a), -math.cos(a)  # along the rocket, to the nose
    vx, vy = -uy, ux  # across it
    r = length * 0.14

    def at(along: float, across: float) -> Point:
        return (cx + ux * along * length + vx * across, cy + uy * along * length + vy * across)

    if flame:
        draw.polygon(_p([at(-0.42, -r * 0.7), at(-0.78, 0), at(-0.42, r * 0.7)]), fill="#f59e0b")
        draw.polygon(_p([at(-0.42, -r * 0.4), at(-0.64, 0), at(-0.42, r * 0.4)]), fill="#fde68a")
    draw.polygon(_p([at(-0.3, -r), at(-0.48, -r * 1.9), at(-0.44, -r * 0.9)]), fill=trim)
    draw.polygon(_p([at(-0.3, r), at(-0.48, r * 1.9), at(-0.44, r * 0.9)]), fill=trim)
    draw.polygon(
        _p([at(-0.44, -r), at(0.22, -r), at(0.36, -r * 0.75), at(0.46, -r * 0.3), at(0.5, 0),
            at(0.46, r * 0.3), at(0.36, r * 0.75), at(0.22, r), at(-0.44, r)]),
        fill=body,
    )  # fmt: skip
    draw.polygon(_p([at(0.3, -r * 0.86), at(0.5, 0), at(0.3, r * 0.86)]), fill=trim)
    draw.polygon(_p([at(-0.44, -r), at(0.22, -r), at(0.22, -r * 0.55), at(-0.44, -r * 0.55)]),
                 fill=_shade(body, 0.88))  # fmt: skip
    wx, wy = at(0.08, 0)
    draw.ellipse(_box(wx - r * 0.55, wy - r * 0.55, wx + r * 0.55, wy + r * 0.55), fill=trim)
    draw.ellipse(_box(wx - r * 0.38, wy - r * 0.38, wx + r * 0.38, wy + r * 0.38), fill="#7dd3fc")


def rocket_kit(image: Image.Image, draw: Draw) -> None:
    _shadow(image, 600, 620)
    front = [(360, 420), (760, 420), (760, FLOOR), (360, FLOOR)]
    draw.polygon(_p([(360, 420), (480, 340), (880, 340), (760, 420)]), fill="#e2b673")
    draw.polygon(_p([(760, 420), (880, 340), (880, 620), (760, FLOOR)]), fill="#b98a4a")
    draw.polygon(_p(front), fill="#d9a55e")
    draw.rectangle(_box(360, 450, 760, 490), fill="#d1452f")
    _label(draw, 560, 470, "DIY ROCKET KIT", 28, "#fff7ed")
    rocket(draw, 560, 590, 190, 60, flame=False)
    rocket(draw, 760, 230, 300, 20)


def rocket_skates(image: Image.Image, draw: Draw) -> None:
    _shadow(image, 600, 640)
    for x in (400, 500, 700, 800):
        draw.ellipse(_box(x - 42, FLOOR - 84, x + 42, FLOOR), fill="#1f2937")
        draw.ellipse(_box(x - 16, FLOOR - 58, x + 16, FLOOR - 26), fill="#9ca3af")
    draw.rounded_rectangle(_box(340, 560, 860, 620), 26 * S, fill="#374151")
    boot = [(420, 560), (420, 330), (560, 310), (600, 420), (790, 470), (850, 520), (850, 560)]
    draw.polygon(_p(boot), fill="#d1452f")
    draw.polygon(_p([(420, 330), (560, 310), (575, 352), (430, 372)]), fill="#fde68a")
    for y in (400, 440, 480):
        draw.line(_p([(470, y), (585, y - 14)]), fill="#fff7ed", width=8 * S)
    rocket(draw, 330, 470, 300, 90, body="#e5e7eb")


def unicycle(image: Image.Image, draw: Draw) -> None:
    _shadow(image, 600, 380)
    draw.ellipse(_box(460, 420, 740, FLOOR), outline="#111827", width=30 * S)
    for k in range(8):
        a = k * math.pi / 4
        draw.line(_p([(600, 560), (600 + 120 * math.cos(a), 560 + 120 * math.sin(a))]),
                  fill="#9ca3af", width=5 * S)  # fmt: skip
    draw.line(_p([(600, 560), (600, 250)]), fill="#6b7280", width=20 * S)
    draw.rounded_rectangle(_box(520, 215, 690, 255), 20 * S, fill="#111827")
    rocket(draw, 760, 400, 320, 35)


def rocket_sled(image: Image.Image, draw: Draw) -> None:
    _shadow(image, 600, 700)
    draw.line(_p([(250, FLOOR - 10), (900, FLOOR - 10), (960, FLOOR - 60)]), fill="#6b7280",
              width=16 * S, joint="curve")  # fmt: skip
    for x in (340, 600, 820):
        draw.line(_p([(x, FLOOR - 10), (x, FLOOR - 70)]), fill="#6b7280", width=14 * S)
    draw.rounded_rectangle(_box(280, FLOOR - 100, 900, FLOOR - 64), 14 * S, fill="#92400e")
    rocket(draw, 560, FLOOR - 200, 520, 90)


def magnet(image: Image.Image, draw: Draw) -> None:
    _shadow(image, 600, 460)
    draw.arc(_box(380, 200, 820, 640), 0, 180, fill="#dc2626", width=120 * S)
    draw.rectangle(_box(380, 330, 500, 420), fill="#dc2626")
    draw.rectangle(_box(700, 330, 820, 420), fill="#dc2626")
    draw.rectangle(_box(380, 230, 500, 330), fill="#d1d5db")
    draw.rectangle(_box(700, 230, 820, 330), fill="#d1d5db")
    draw.arc(_box(402, 222, 798, 618), 20, 160, fill="#f87171", width=14 * S)
    for k, r in enumerate((90, 150, 210)):
        draw.arc(_box(600 - r, 120 - r * 0.5, 600 + r, 120 + r * 0.5), 200, 340,
                 fill=_shade("#6b7280", 1 + k * 0.2), width=6 * S)  # fmt: skip


def portable_hole(image: Image.Image, draw: Draw) -> None:
    draw.ellipse(_box(300, 520, 900, 760), fill="#0b0b0f")
    for k in range(6):
        inset = 30 + k * 18
        draw.ellipse(_box(300 + inset, 520 + inset * 0.4, 900 - inset, 760 - inset * 0.4),
                     outline=_shade("#312e81", 1 - k * 0.12), width=3 * S)  # fmt: skip
    draw.polygon(_p([(820, 560), (905, 600), (860, 660)]), fill="#1f2937")
    for x, y in ((420, 320), (560, 260), (720, 330), (640, 400), (480, 430)):
        draw.regular_polygon((x * S, y * S, 14 * S), 4, rotation=45, fill="#fde68a")


def glue(image: Image.Image, draw: Draw) -> None:
    _shadow(image, 600, 400)
    draw.rounded_rectangle(_box(420, 290, 780, FLOOR), 60 * S, fill="#f8fafc")
    draw.rounded_rectangle(_box(560, 210, 660, 300), 14 * S, fill="#f8fafc")
    draw.rounded_rectangle(_box(550, 170, 670, 220), 14 * S, fill="#ef4444")
    draw.ellipse(_box(640, 300, 760, 420), outline="#e2e8f0", width=26 * S)
    draw.rectangle(_box(420, 450, 780, 600), fill="#2563eb")
    _label(draw, 600, 500, "SUPER", 44, "#ffffff")
    _label(draw, 600, 555, "GLUE", 44, "#fde68a")
    draw.rounded_rectangle(_box(440, 300, 470, 680), 14 * S, fill="#e2e8f0")


def bird_seed(image: Image.Image, draw: Draw) -> None:
    _shadow(image, 600, 460)
    sack = [(400, 300), (800, 300), (850, 640), (800, FLOOR), (400, FLOOR), (350, 640)]
    draw.polygon(_p(sack), fill="#d6b98a")
    draw.polygon(_p([(400, 300), (800, 300), (760, 250), (440, 250)]), fill="#c4a474")
    draw.rectangle(_box(440, 300, 760, 330), fill="#8b5e34")
    draw.rounded_rectangle(_box(440, 420, 760, 580), 20 * S, fill="#fff7ed")
    _label(draw, 600, 475, "BIRD SEED", 38, "#7c2d12")
    _label(draw, 600, 530, "5 LB", 30, "#9a3412")
    for k in range(40):
        x, y = 320 + (k * 137) % 560, FLOOR - 8 - (k * 53) % 30
        draw.ellipse(_box(x, y, x + 12, y + 8), fill="#a16207")


def boulders(image: Image.Image, draw: Draw) -> None:
    _shadow(image, 600, 620)
    draw.polygon(_p([(330, 440), (870, 440), (830, FLOOR), (370, FLOOR)]), fill="#9a3412")
    draw.rectangle(_box(330, 420, 870, 460), fill="#7c2d12")
    _label(draw, 600, 590, "JUST ADD WATER", 40, "#fff7ed")
    for x, y, r, tone in ((430, 380, 60, 0.9), (560, 360, 80, 1.0), (700, 380, 64, 0.85),
                          (790, 400, 44, 1.1), (500, 400, 40, 1.15)):  # fmt: skip
        draw.ellipse(_box(x - r, y - r * 0.8, x + r, y + r * 0.8), fill=_shade("#78716c", tone))
        draw.ellipse(_box(x - r * 0.5, y - r * 0.6, x, y - r * 0.2), fill=_shade("#a8a29e", tone))


# Globex -------------------------------------------------------------------------------


def jacket(colour: str, kind: str = "shell") -> Callable[[Image.Image, Draw], None]:
    def draw_it(image: Image.Image, draw: Draw) -> None:
        _shadow(image, 600, 520)
        dark, light = _shade(colour, 0.78), _shade(colour, 1.25)
        draw.polygon(_p([(450, 250), (340, 300), (260, 600), (330, 620), (420, 400)]), fill=dark)
        draw.polygon(_p([(750, 250), (860, 300), (940, 600), (870, 620), (780, 400)]), fill=dark)
        draw.polygon(
            _p([(440, 240), (760, 240), (800, FLOOR - 20), (400, FLOOR - 20)]), fill=colour
        )
        draw.ellipse(_box(500, 150, 700, 300), fill=dark)
        draw.ellipse(_box(540, 190, 660, 290), fill=_shade(colour, 0.5))
        draw.line(_p([(600, 290), (600, FLOOR - 20)]), fill="#1f2937", width=6 * S)
        if kind == "down":
            for y in range(330, FLOOR - 20, 70):
                draw.line(_p([(412, y), (788, y)]), fill=dark, width=5 * S)
                draw.line(_p([(300, y + 20), (400, y)]), fill=_shade(colour, 0.65), width=4 * S)
        elif kind == "wind":
            draw.polygon(_p([(420, 420), (780, 380), (785, 430), (418, 470)]), fill=light)
        else:
            for x in (460, 640):
                draw.rounded_rectangle(
                    _box(x, 470, x + 100, 560), 10 * S, outline=dark, width=5 * S
                )
        draw.rectangle(_box(400, FLOOR - 44, 800, FLOOR - 20), fill=dark)

    return draw_it


def backpack(colour: str, height: float = 1.0) -> Callable[[Image.Image, Draw], None]:
    def draw_it(image: Image.Image, draw: Draw) -> None:
        top = FLOOR - 460 * height
        _shadow(image, 600, 420)
        dark = _shade(colour, 0.72)
        draw.rounded_rectangle(_box(430, top, 770, FLOOR), 70 * S, fill=colour)
        draw.rounded_rectangle(_box(445, top - 20, 755, top + 110), 60 * S, fill=dark)
        draw.rounded_rectangle(_box(480, FLOOR - 230, 720, FLOOR - 30), 40 * S, fill=dark)
        draw.line(_p([(500, FLOOR - 200), (700, FLOOR - 200)]), fill="#e5e7eb", width=5 * S)
        for x in (520, 680):
            draw.rectangle(_box(x - 14, top + 100, x + 14, top + 190), fill="#111827")
            draw.rounded_rectangle(
                _box(x - 26, top + 180, x + 26, top + 215), 6 * S, fill="#9ca3af"
            )
        draw.arc(_box(560, top - 80, 640, top + 10), 180, 360, fill="#111827", width=10 * S)

    return draw_it


def sling(image: Image.Image, draw: Draw) -> None:
    _shadow(image, 600, 480)
    draw.line(_p([(330, 200), (880, 620)]), fill="#111827", width=34 * S)
    draw.rounded_rectangle(_box(360, 440, 840, FLOOR - 10), 110 * S, fill="#0f766e")
    draw.line(_p([(420, 520), (780, 520)]), fill="#f1f5f9", width=6 * S)
    draw.rounded_rectangle(_box(440, 560, 760, 650), 40 * S, fill="#115e59")


def tent(image: Image.Image, draw: Draw) -> None:
    _shadow(image, 600, 760)
    draw.polygon(_p([(220, FLOOR), (600, 250), (980, FLOOR)]), fill="#f97316")
    draw.polygon(_p([(600, 250), (980, FLOOR), (760, FLOOR)]), fill="#c2410c")
    draw.polygon(_p([(480, FLOOR), (600, 430), (720, FLOOR)]), fill="#1c1917")
    draw.line(_p([(600, 250), (600, 200)]), fill="#57534e", width=10 * S)
    for x0, x1 in ((220, 120), (980, 1080)):
        draw.line(
            _p([(x0 + (x1 - x0) * 0.2, FLOOR - 60), (x1, FLOOR)]), fill="#a8a29e", width=3 * S
        )


def sleeping_bag(image: Image.Image, draw: Draw) -> None:
    _shadow(image, 600, 760)
    draw.rounded_rectangle(_box(220, 520, 1000, FLOOR), 90 * S, fill="#2563eb")
    draw.ellipse(_box(180, 500, 400, FLOOR + 10), fill="#1d4ed8")
    draw.ellipse(_box(220, 540, 360, FLOOR - 20), fill="#1e3a8a")
    for x in range(440, 960, 80):
        draw.line(_p([(x, 530), (x - 20, FLOOR - 10)]), fill="#1e40af", width=5 * S)
    draw.line(_p([(400, 560), (980, 560)]), fill="#93c5fd", width=4 * S)


def stove(image: Image.Image, draw: Draw) -> None:
    _shadow(image, 600, 360)
    draw.rounded_rectangle(_box(480, 470, 720, FLOOR), 60 * S, fill="#16a34a")
    draw.rectangle(_box(480, 520, 720, 560), fill="#f8fafc")
    draw.rectangle(_box(585, 400, 615, 470), fill="#9ca3af")
    draw.rounded_rectangle(_box(530, 380, 670, 410), 10 * S, fill="#6b7280")
    for dx in (-90, 0, 90):
        draw.line(_p([(600 + dx, 380), (600 + dx * 1.3, 340)]), fill="#9ca3af", width=10 * S)
    _glow(image, 600, 350, 80, "#60a5fa")
    for dx in (-40, -15, 15, 40):
        draw.polygon(
            _p([(600 + dx - 14, 380), (600 + dx, 320), (600 + dx + 14, 380)]), fill="#3b82f6"
        )
    _label(draw, 600, 625, "TITAN", 34, "#f8fafc")


def lantern(image: Image.Image, draw: Draw) -> None:
    _shadow(image, 600, 320)
    _glow(image, 600, 480, 220, "#fde68a")
    draw.arc(_box(520, 160, 680, 320), 180, 360, fill="#374151", width=14 * S)
    draw.rounded_rectangle(_box(480, 240, 720, 300), 16 * S, fill="#1f2937")
    for x in range(500, 700, 40):
        draw.rectangle(_box(x, 250, x + 30, 290), fill="#1e3a8a")
    draw.rounded_rectangle(_box(500, 300, 700, 620), 30 * S, fill="#fef3c7")
    draw.ellipse(_box(555, 390, 645, 520), fill="#fbbf24")
    draw.rounded_rectangle(_box(480, 620, 720, FLOOR), 16 * S, fill="#1f2937")


def mug(image: Image.Image, draw: Draw) -> None:
    _shadow(image, 600, 380)
    draw.ellipse(_box(700, 400, 860, 600), outline="#0f766e", width=34 * S)
    draw.rounded_rectangle(_box(440, 330, 760, FLOOR), 50 * S, fill="#14b8a6")
    draw.rounded_rectangle(_box(430, 300, 770, 350), 20 * S, fill="#0f766e")
    draw.rectangle(_box(440, 470, 760, 540), fill="#ccfbf1")
    for x in (520, 600, 680):
        points = [(x + 18 * math.sin(k / 2), 270 - k * 14) for k in range(10)]
        draw.line(_p(points), fill="#ffffff", width=8 * S, joint="curve")


def sleeping_mat(image: Image.Image, draw: Draw) -> None:
    _shadow(image, 600, 760)
    draw.polygon(_p([(420, FLOOR - 60), (1000, FLOOR - 60), (1000, FLOOR), (420, FLOOR)]),
                 fill="#ea580c")  # fmt: skip
    for x in range(470, 1000, 60):
        draw.line(_p([(x, FLOOR - 60), (x, FLOOR)]), fill="#c2410c", width=4 * S)
    draw.ellipse(_box(200, 430, 480, FLOOR), fill="#ea580c")
    for k in range(5):
        inset = 24 + k * 22
        draw.ellipse(_box(200 + inset, 430 + inset, 480 - inset, FLOOR - inset), outline="#9a3412",
                     width=6 * S)  # fmt: skip


# Which picture each demo product gets; colour variants get one per colour.
Drawing = Callable[[Image.Image, Draw], None]
DRAWINGS: dict[str, tuple[str, Drawing]] = {
    "ACME-ANV-50": ("#f59e0b", anvil),
    "ACME-ANV-100": ("#ef4444", lambda i, d: anvil(i, d, 1.18, "#23272e")),
    "ACME-ANV-MINI": ("#a3e635", desk_anvil),
    "ACME-RKT-SKATES": ("#38bdf8", rocket_skates),
    "ACME-RKT-BIKE": ("#c084fc", unicycle),
    "ACME-RKT-KIT": ("#fb923c", rocket_kit),
    "ACME-RKT-SLED": ("#94a3b8", rocket_sled),
    "ACME-GAD-MAGNET": ("#fcd34d", magnet),
    "ACME-GAD-HOLE": ("#a78bfa", portable_hole),
    "ACME-GAD-GLUE": ("#5eead4", glue),
    "ACME-GAD-SEED": ("#86efac", bird_seed),
    "ACME-GAD-TNT": ("#fdba74", boulders),
    "GLX-JKT-STORM": ("#93c5fd", jacket("#dc2626")),
    "GLX-JKT-DOWN": ("#cbd5e1", jacket("#111827", "down")),
    "GLX-JKT-WIND": ("#bbf7d0", jacket("#65a30d", "wind")),
    "GLX-PCK-30": ("#fde68a", backpack("#15803d")),
    "GLX-PCK-55": ("#fecaca", backpack("#1e3a8a", 1.25)),
    "GLX-PCK-SLING": ("#ddd6fe", sling),
    "GLX-CMP-TENT2": ("#a7f3d0", tent),
    "GLX-CMP-BAG": ("#fed7aa", sleeping_bag),
    "GLX-CMP-STOVE": ("#e0e7ff", stove),
    "GLX-CMP-LAMP": ("#1e293b", lantern),
    "GLX-CMP-MUG": ("#fecdd3", mug),
    "GLX-CMP-MAT": ("#bae6fd", sleeping_mat),
}
# Pictures of a product's colours, by colour value (the variants' pictures).
COLOUR_DRAWINGS: dict[str, dict[str, tuple[str, Drawing]]] = {
    "GLX-JKT-STORM": {
        "Rot": ("#93c5fd", jacket("#dc2626")),
        "Blau": ("#fde68a", jacket("#1d4ed8")),
        "Grün": ("#fecaca", jacket("#15803d")),
    },
    "GLX-PCK-30": {
        "Grün": ("#fde68a", backpack("#15803d")),
        "Grau": ("#bfdbfe", backpack("#4b5563")),
    },
}


def draw(hue: str, drawing: Drawing) -> bytes:
    """One picture, as the JPEG an owner would upload."""
    image = _canvas(hue)
    drawing(image, ImageDraw.Draw(image))
    image = image.resize((W, H), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def pictures_for(sku: str) -> list[tuple[str, bytes]]:
    """(colour value or "", picture) for a demo product: its colours', else its own."""
    colours = COLOUR_DRAWINGS.get(sku)
    if colours:
        return [(value, draw(hue, drawing)) for value, (hue, drawing) in colours.items()]
    if sku in DRAWINGS:
        hue, drawing = DRAWINGS[sku]
        return [("", draw(hue, drawing))]
    return []
