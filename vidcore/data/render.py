"""The demo dataset's pictures: synthetic stick-figure actions, rendered frame by frame.

Ten classes of a figure moving in a scene (``DEMO_CLASSES``); ``render_clip`` gives the
RGB frames of one clip. Two pairs of classes are exact time reverses of each other
(``REVERSE_PAIRS``): the second class's clip is the first class's frames played
backwards, so only a model that sees frame order can tell them apart, while the other
classes differ frame by frame. The groups of a class share background, actor
(colours, proportions) and camera placement, as UCF101's groups do.

Every random choice comes from a numpy Generator seeded with (seed, class, group, clip),
so a clip is the same whatever the generation order or the number of workers.
Frames are RGB everywhere; ``vidcore.data.demo`` writes them as videos.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from vidcore.errors import InputError

DEMO_VERSION = 1  # bump whenever the generated pixels change, so old copies are redone
FPS = 25
WIDTH, HEIGHT = 320, 240
GROUPS = 25

# Listed in classInd order: case-insensitive alphabetical, so JumpingJack precedes
# JumpRope here although Python's sorted() would swap them (the same quirk as UCF101).
DEMO_CLASSES: tuple[str, ...] = (
    "ArmWave", "BodyWeightSquats", "JumpingJack", "JumpRope", "Kick",
    "LowerArms", "Punch", "RaiseArms", "SitDown", "StandUp",
)
REVERSE_PAIRS: tuple[tuple[str, str], ...] = (("SitDown", "StandUp"), ("RaiseArms", "LowerArms"))
FORWARD_OF = {backward: forward for forward, backward in REVERSE_PAIRS}
BACKWARD_OF = dict(REVERSE_PAIRS)

_MARGIN = 12  # the scene is drawn this much larger on each side so the camera can pan
_CANVAS = (HEIGHT + 2 * _MARGIN, WIDTH + 2 * _MARGIN)
_NOISE_PAD = 16  # noise images are larger than a frame and cropped at random offsets
_OUTLINE = (25, 25, 25)


@dataclass(frozen=True)
class DemoSize:
    """How much demo data to generate.

    Attributes:
        name: size name, a key of ``SIZES``.
        groups: groups per class, numbered 1..groups (UCF101 has 25).
        clips_per_group: inclusive (min, max) clips per group, drawn per group.
        duration_s: (min, max) clip duration in seconds, drawn per clip.
    """

    name: str
    groups: int
    clips_per_group: tuple[int, int]
    duration_s: tuple[float, float]


SIZES: dict[str, DemoSize] = {
    # The full demo: 10 classes x 25 groups x 4-5 clips of 2-3.5 s (1128 videos at seed 0).
    # Smaller than UCF101's 4-7 clips of ~7 s so that it generates in well under a
    # minute on two cores (encoding is half of the cost, so frames are the budget).
    "demo": DemoSize("demo", GROUPS, (4, 5), (2.0, 3.5)),
    # For tests: groups 1-10 with one 2 s clip each, so split 1 has 7 test and 3 train
    # groups per class, split 2 tests groups 8-10 and split 3 has no test videos.
    "tiny": DemoSize("tiny", 10, (1, 1), (2.0, 2.0)),
}


# ---------------------------------------------------------------- seeding


def _rng(seed: int, class_name: str, *keys: int) -> np.random.Generator:
    """A generator that depends only on its arguments (crc32: stable across runs)."""
    return np.random.default_rng([seed, zlib.crc32(class_name.encode()), *keys])


def source_class(class_name: str) -> str:
    """The class whose parameters render this one (a reverse class uses its forward)."""
    return FORWARD_OF.get(class_name, class_name)


# ---------------------------------------------------------------- poses


@dataclass(frozen=True)
class _Pose:
    """Joint angles in radians from straight down, positive outward (front) or forward (side).

    ``arms``/``legs`` hold (upper, lower) angles of limb 0 (screen right, or the near
    limb in side view) and limb 1 (mirrored in front view, the far limb in side view).
    """

    arms: tuple[tuple[float, float], tuple[float, float]]
    legs: tuple[tuple[float, float], tuple[float, float]]
    lean: float = 0.0  # torso tilt, positive forward/right
    lift: float = 0.0  # feet above the ground, in figure heights (jumps)
    thigh_scale: float = 1.0  # foreshortening of thighs pointing at the camera
    rope: float | None = None  # skipping-rope angle, 0 = under the feet


def _bump(u: float) -> float:
    """0 -> 1 -> 0 over each cycle of ``u``, smooth at both ends."""
    return (1.0 - math.cos(2.0 * math.pi * u)) / 2.0


def _pulse(u: float, width: float) -> float:
    """A 0 -> 1 -> 0 bump over the first ``width`` of each cycle, then rest at 0."""
    f = u % 1.0
    return math.sin(math.pi * f / width) ** 2 if f < width else 0.0


def _pose_wave(u: float, amp: float) -> _Pose:
    forearm = math.pi - 0.1 + 0.55 * amp * math.sin(2.0 * math.pi * u)
    return _Pose(arms=((2.45, forearm), (0.1, 0.15)), legs=((0.07, 0.07), (0.07, 0.07)))


def _pose_squat(u: float, amp: float) -> _Pose:
    s = amp * _bump(u)
    legs = ((0.2 + 0.8 * s, 0.2 - 0.4 * s),) * 2  # knees out, feet stay wide
    hands = ((2.0, math.pi + 1.2),) * 2  # hands at the ears, elbows out
    return _Pose(arms=hands, legs=legs, thigh_scale=1.0 - 0.4 * s)


def _pose_jack(u: float, amp: float) -> _Pose:
    s = _bump(u)
    arm = min(2.9, 0.2 + 2.6 * amp * s)
    leg = 0.04 + 0.32 * s
    lift = 0.06 * abs(math.sin(2.0 * math.pi * u))  # airborne between the two stances
    return _Pose(arms=((arm, arm + 0.1 * s),) * 2, legs=((leg, leg),) * 2, lift=lift)


def _pose_rope(u: float, amp: float) -> _Pose:
    psi = 2.0 * math.pi * u
    hop = 0.045 * amp * max(0.0, math.cos(psi)) ** 2  # in the air while the rope passes
    arms = ((0.3, 0.95 + 0.2 * math.sin(psi)),) * 2
    return _Pose(arms=arms, legs=((0.04, 0.02),) * 2, lift=hop, rope=psi)


def _pose_kick(u: float, amp: float) -> _Pose:
    e = _pulse(u, 0.6)
    thigh = 1.45 * amp * e
    shin = thigh - 1.2 * math.sin(math.pi * e)  # chambered knee on the way up and down
    guard = ((0.55, 2.3), (0.65, 2.4))
    return _Pose(arms=guard, legs=((thigh, shin), (-0.08, -0.08)), lean=-0.25 * e)


def _pose_punch(u: float, amp: float) -> _Pose:
    def arm(e: float) -> tuple[float, float]:  # guard at the chin -> straight punch
        return 0.45 + (1.5 * amp - 0.45) * e, 2.5 + (1.5 * amp - 2.5) * e

    near, far = _pulse(u, 0.5), _pulse(u - 0.5, 0.5)
    return _Pose(arms=(arm(near), arm(far)), legs=((0.25, 0.05), (-0.3, -0.15)), lean=0.12)


def _pose_raise(s: float, amp: float) -> _Pose:
    arm = 0.08 + (2.85 + 0.1 * (amp - 1.0)) * s  # forward and up to overhead
    return _Pose(arms=((arm, arm + 0.12), (arm - 0.06, arm + 0.04)),
                 legs=((0.04, 0.0), (-0.04, 0.0)))


# Sitting down, side view: (progress, lean, thigh, shin, upper arm, forearm).
_SIT_KEYS = np.array([
    [0.0, 0.0, 0.02, 0.0, 0.05, 0.12],
    [0.45, 0.5, 0.85, -0.35, 0.55, 0.9],  # lean forward and reach while lowering
    [1.0, 0.08, 1.52, 0.0, 0.25, 1.25],  # seated: thighs level, hands on the knees
])


def _pose_sit(s: float, amp: float) -> _Pose:
    lean, thigh, shin, upper, fore = (
        float(np.interp(s, _SIT_KEYS[:, 0], _SIT_KEYS[:, k])) for k in range(1, 6))
    lean *= amp
    return _Pose(arms=((upper, fore), (upper + 0.05, fore + 0.05)),
                 legs=((thigh, shin), (thigh - 0.04, shin)), lean=lean)


@dataclass(frozen=True)
class _Motion:
    """How a class moves: view, periodic or one-way, rate, grounded feet, props."""

    pose: Callable[[float, float], _Pose]
    view: str  # "front" or "side"
    freq: float = 0.0  # cycles per second; 0 = one-way motion over the clip
    anchor: tuple[int, ...] = (0, 1)  # feet that stay on the ground
    chair: bool = False


_MOTIONS: dict[str, _Motion] = {
    "ArmWave": _Motion(_pose_wave, "front", 1.8),
    "BodyWeightSquats": _Motion(_pose_squat, "front", 0.5),
    "JumpingJack": _Motion(_pose_jack, "front", 1.0),
    "JumpRope": _Motion(_pose_rope, "front", 1.8),
    "Kick": _Motion(_pose_kick, "side", 0.6, anchor=(1,)),
    "Punch": _Motion(_pose_punch, "side", 0.8),
    "RaiseArms": _Motion(_pose_raise, "side"),
    "SitDown": _Motion(_pose_sit, "side", chair=True),
}


# ---------------------------------------------------------------- groups and clips


@dataclass(frozen=True)
class _Look:
    """What the clips of a group share: actor, camera placement and zoom."""

    height: float  # standing figure height in pixels (zoom)
    base_x: float  # canvas x of the feet
    ground_y: float  # canvas y of the ankles
    facing: int  # +1 faces right, -1 faces left (also mirrors front views)
    body: dict[str, float]  # segment lengths in figure heights
    thick: int  # limb thickness in pixels
    skin: tuple[int, ...]
    shirt: tuple[int, ...]
    pants: tuple[int, ...]
    shoes: tuple[int, ...]
    chair: tuple[int, ...]


_BODY = {"thigh": 0.245, "shin": 0.245, "foot": 0.07, "torso": 0.3, "neck": 0.035,
         "head": 0.065, "upper": 0.165, "fore": 0.15, "shoulder": 0.21, "hip": 0.12,
         "depth": 0.1}
_SKINS = ((255, 219, 172), (241, 194, 125), (224, 172, 105), (198, 134, 66), (141, 85, 36))


def _hsv_colour(rng: np.random.Generator, sat: tuple, val: tuple) -> tuple[int, ...]:
    hsv = np.uint8([[[rng.integers(0, 180), rng.uniform(*sat) * 255, rng.uniform(*val) * 255]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


@lru_cache(maxsize=64)
def _look(seed: int, class_name: str, group: int) -> _Look:
    rng = _rng(seed, class_name, group, 1)
    height = rng.uniform(0.58, 0.74) * HEIGHT
    body = {k: v * rng.uniform(0.92, 1.08) for k, v in _BODY.items()}
    skin = np.clip(np.array(_SKINS[rng.integers(len(_SKINS))]) + rng.integers(-15, 16, 3), 0, 255)
    return _Look(
        height=height,
        base_x=_MARGIN + rng.uniform(0.38, 0.62) * WIDTH,
        ground_y=_MARGIN + rng.uniform(0.86, 0.94) * HEIGHT,
        facing=int(rng.choice([-1, 1])),
        body=body,
        thick=max(4, round(rng.uniform(0.055, 0.07) * height)),
        skin=tuple(int(c) for c in skin),
        shirt=_hsv_colour(rng, (0.5, 1.0), (0.55, 1.0)),
        pants=_hsv_colour(rng, (0.3, 0.9), (0.2, 0.55)),
        shoes=_hsv_colour(rng, (0.0, 0.5), (0.05, 0.4)),
        chair=_hsv_colour(rng, (0.4, 0.8), (0.25, 0.6)),
    )


@dataclass(frozen=True)
class _Clip:
    """What varies between clips of one group."""

    frames: int
    speed: float  # multiplies the class's cycle rate
    phase: float  # start phase in cycles
    holds: tuple[float, float]  # still fractions at start and end of one-way motions
    amp: float  # motion amplitude factor
    shift: float  # actor position offset in pixels
    pan: tuple[float, float]  # camera travel over the clip in pixels (x, y)
    shake: tuple[float, ...]  # amplitude, two frequencies and two phases of camera shake
    noise: int  # pixel noise level, see _noise_bank


def _clip(seed: int, class_name: str, group: int, clip: int, size: DemoSize) -> _Clip:
    rng = _rng(seed, class_name, group, clip, 2)
    return _Clip(
        frames=round(rng.uniform(*size.duration_s) * FPS),
        speed=rng.uniform(0.75, 1.3),
        phase=rng.uniform(0.0, 1.0),
        holds=(rng.uniform(0.0, 0.08), rng.uniform(0.0, 0.08)),
        amp=rng.uniform(0.88, 1.08),
        shift=rng.uniform(-0.04, 0.04) * WIDTH,
        pan=(rng.uniform(-8.0, 8.0), rng.uniform(-3.0, 3.0)),
        shake=(rng.uniform(0.0, 1.5), *rng.uniform(0.3, 2.0, 2), *rng.uniform(0, 2 * math.pi, 2)),
        noise=int(rng.integers(2, 7)),
    )


def clip_count(seed: int, class_name: str, group: int, size: DemoSize) -> int:
    lo, hi = size.clips_per_group
    return int(_rng(seed, class_name, group, 3).integers(lo, hi + 1))


# ---------------------------------------------------------------- scene


@lru_cache(maxsize=64)
def _background(seed: int, class_name: str, group: int) -> np.ndarray:
    """A textured room: wall and floor gradients, furniture boxes, smooth and fine noise."""
    rng = _rng(seed, class_name, group, 0)
    h, w = _CANVAS
    horizon = int(rng.uniform(0.5, 0.72) * h)
    img = np.empty((h, w, 3), np.float32)
    img[:horizon] = _gradient(rng, horizon, (80, 220))
    img[horizon:] = _gradient(rng, h - horizon, (40, 150))
    for _ in range(rng.integers(3, 8)):
        _furniture(img, rng, horizon)
    # mottled texture: mostly brightness, a little colour, plus fine grain
    blotches = rng.normal(0, 8, (h // 16, w // 16, 1)) + rng.normal(0, 3, (h // 16, w // 16, 3))
    img += cv2.resize(blotches.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    img += rng.standard_normal((h, w, 3), dtype=np.float32) * 4
    picture = np.clip(img, 0, 255).astype(np.uint8)
    picture.setflags(write=False)  # cached and shared: callers draw on a copy
    return picture


def _gradient(rng: np.random.Generator, rows: int, levels: tuple[int, int]) -> np.ndarray:
    def colour():  # a grey level with a mild tint, like painted walls and floors
        return rng.uniform(*levels) + rng.uniform(-30, 30, 3)

    top, bottom = colour(), colour()
    t = np.linspace(0.0, 1.0, rows, dtype=np.float32)[:, None, None]
    return (1 - t) * top + t * bottom


def _furniture(img: np.ndarray, rng: np.random.Generator, horizon: int) -> None:
    h, w = img.shape[:2]
    bw, bh = int(rng.uniform(0.08, 0.35) * w), int(rng.uniform(0.1, 0.45) * h)
    x0 = int(rng.uniform(-0.1, 0.95) * w)
    y0 = int(horizon - bh * rng.uniform(0.5, 1.2))  # standing on or hanging above the floor
    colour = tuple(float(c) for c in rng.uniform(20, 240, 3))
    cv2.rectangle(img, (x0, y0), (x0 + bw, y0 + bh), colour, -1)
    if rng.random() < 0.6:  # a frame or shelf edges make it read as an object
        edge = tuple(c * 0.5 for c in colour)
        cv2.rectangle(img, (x0, y0), (x0 + bw, y0 + bh), edge, int(rng.integers(1, 4)))
        cv2.line(img, (x0, y0 + bh // 2), (x0 + bw, y0 + bh // 2), edge, 2)


# ---------------------------------------------------------------- figure


def _unit(phi: float) -> tuple[float, float]:
    """Direction at angle ``phi`` from straight down (image y points down)."""
    return math.sin(phi), math.cos(phi)


def _add(p, d, length: float) -> tuple[float, float]:
    return p[0] + d[0] * length, p[1] + d[1] * length


def _skeleton(pose: _Pose, view: str, body: dict[str, float]) -> dict:
    """Joint positions in figure heights, hip centre at the origin, facing right."""
    up = (math.sin(pose.lean), -math.cos(pose.lean))
    perp = (math.cos(pose.lean), math.sin(pose.lean))
    neck = _add((0.0, 0.0), up, body["torso"])
    front = view == "front"
    arms, legs = [], []
    for k, side in enumerate((1, -1) if front else (1, 1)):
        sh = _add(neck, perp, side * body["shoulder"] / 2 if front else 0.0)
        hip = _add((0.0, 0.0), perp, side * body["hip"] / 2 if front else 0.0)
        (ua, fa), (ta, sa) = pose.arms[k], pose.legs[k]
        elbow = _add(sh, _unit(side * ua), body["upper"])
        arms.append([sh, elbow, _add(elbow, _unit(side * fa), body["fore"])])
        knee = _add(hip, _unit(side * ta), body["thigh"] * pose.thigh_scale)
        ankle = _add(knee, _unit(side * sa), body["shin"])
        toe_dir = (side * 0.8, 0.0) if front else _unit(sa + math.pi / 2)
        legs.append([hip, knee, ankle, _add(ankle, toe_dir, body["foot"])])
    head = _add(neck, up, body["neck"] + body["head"])
    return {"neck": neck, "head": head, "perp": perp, "arms": arms, "legs": legs}


def _to_pixels(skel: dict, pose: _Pose, motion: _Motion, look: _Look, shift: float) -> dict:
    """Place the skeleton so the anchored feet stand on the group's ground line."""
    feet = [skel["legs"][k][2] for k in motion.anchor]
    ax = sum(p[0] for p in feet) / len(feet)
    ay = max(p[1] for p in feet)
    x0, y0 = look.base_x + shift, look.ground_y - pose.lift * look.height

    def px(p):
        return x0 + look.facing * (p[0] - ax) * look.height, y0 + (p[1] - ay) * look.height

    return {
        "neck": px(skel["neck"]), "head": px(skel["head"]), "hip": px((0.0, 0.0)),
        "arms": [[px(p) for p in a] for a in skel["arms"]],
        "legs": [[px(p) for p in leg] for leg in skel["legs"]],
        "perp": (look.facing * skel["perp"][0], skel["perp"][1]),
    }


def _fix(p) -> tuple[int, int]:
    """Fixed-point coordinates (4 fractional bits) so slow motion stays smooth."""
    return round(p[0] * 16), round(p[1] * 16)


def _chain(img, pts, colour, thick: int) -> None:
    fixed = [_fix(p) for p in pts]
    for width, col in ((thick + 2, _OUTLINE), (thick, colour)):  # dark rim, then fill
        for a, b in zip(fixed, fixed[1:], strict=False):
            cv2.line(img, a, b, col, width, cv2.LINE_AA, 4)


def _shade(colour, factor: float = 0.7) -> tuple[int, ...]:
    return tuple(int(c * factor) for c in colour)


def _draw_leg(img, px: dict, look: _Look, k: int, far: bool) -> None:
    """Leg of limb ``k``, darker when it is the far side of a side view."""
    f = 0.7 if far else 1.0
    leg = px["legs"][k]
    _chain(img, leg[:3], _shade(look.pants, f), round(look.thick * 1.15))
    _chain(img, leg[2:], _shade(look.shoes, f), look.thick)


def _draw_arm(img, px: dict, look: _Look, k: int, far: bool) -> None:
    f = 0.7 if far else 1.0
    arm = px["arms"][k]
    _chain(img, arm[:2], _shade(look.shirt, f), look.thick)
    _chain(img, arm[1:], _shade(look.skin, f), round(look.thick * 0.85))
    cv2.circle(img, _fix(arm[2]), round(look.thick * 0.7 * 16), _shade(look.skin, f), -1,
               cv2.LINE_AA, 4)


def _draw_torso(img, px: dict, look: _Look, front: bool) -> None:
    """Shirt-coloured trunk (wide from the front, narrow from the side), neck and head."""
    body, h = look.body, look.height
    top = (body["shoulder"] if front else body["depth"]) * h / 2
    bottom = (body["hip"] * 1.4 if front else body["depth"]) * h / 2
    (nx, ny), (hx, hy), (qx, qy) = px["neck"], px["hip"], px["perp"]
    quad = [(nx - qx * top, ny - qy * top), (nx + qx * top, ny + qy * top),
            (hx + qx * bottom, hy + qy * bottom), (hx - qx * bottom, hy - qy * bottom)]
    pts = np.array([_fix(p) for p in quad], np.int32)
    cv2.fillPoly(img, [pts], look.shirt, cv2.LINE_AA, 4)
    cv2.polylines(img, [pts], True, _OUTLINE, 2, cv2.LINE_AA, 4)
    _chain(img, [px["neck"], px["head"]], look.skin, look.thick)
    radius = round(body["head"] * h * 16)  # fixed point, like the centre
    cv2.circle(img, _fix(px["head"]), radius + 24, _OUTLINE, -1, cv2.LINE_AA, 4)
    cv2.circle(img, _fix(px["head"]), radius, look.skin, -1, cv2.LINE_AA, 4)


def _draw_rope(img, px: dict, look: _Look, psi: float) -> None:
    """A skipping rope through both hands, swinging between above the head and the feet."""
    p0, p2 = np.array(px["arms"][0][2]), np.array(px["arms"][1][2])
    top = px["head"][1] - (look.body["head"] + 0.06) * look.height
    bottom = look.ground_y + 0.02 * look.height
    mid = np.array([(p0[0] + p2[0]) / 2, (top + bottom) / 2 + (bottom - top) / 2 * math.cos(psi)])
    ctrl = 2 * mid - (p0 + p2) / 2  # quadratic Bezier passing through ``mid``
    t = np.linspace(0.0, 1.0, 16)[:, None]
    curve = (1 - t) ** 2 * p0 + 2 * t * (1 - t) * ctrl + t ** 2 * p2
    cv2.polylines(img, [np.round(curve * 16).astype(np.int32)], False, (30, 30, 30), 2,
                  cv2.LINE_AA, 4)


def _draw_figure(img: np.ndarray, pose: _Pose, motion: _Motion, look: _Look, shift: float) -> None:
    px = _to_pixels(_skeleton(pose, motion.view, look.body), pose, motion, look, shift)
    front = motion.view == "front"
    rope_behind = pose.rope is not None and math.sin(pose.rope) < 0
    if rope_behind:
        _draw_rope(img, px, look, pose.rope)
    if not front:  # far limbs first, the torso hides part of them
        _draw_arm(img, px, look, 1, far=True)
        _draw_leg(img, px, look, 1, far=True)
    for k in (0, 1) if front else (0,):
        _draw_leg(img, px, look, k, far=False)
    _draw_torso(img, px, look, front)
    for k in (0, 1) if front else (0,):
        _draw_arm(img, px, look, k, far=False)
    if pose.rope is not None and not rope_behind:
        _draw_rope(img, px, look, pose.rope)


def _segment(img, a, b, colour, thick: int) -> None:
    cv2.line(img, _fix(a), _fix(b), colour, thick, cv2.LINE_AA, 4)


def _draw_chair(img: np.ndarray, motion: _Motion, look: _Look, clip: _Clip) -> None:
    """A chair whose seat is exactly where the seated pose puts the hips."""
    seated = motion.pose(1.0, clip.amp)
    skel = _skeleton(seated, motion.view, look.body)
    hip_x, hip_y = _to_pixels(skel, seated, motion, look, clip.shift)["hip"]
    h, f, thick = look.height, look.facing, max(3, look.thick // 2)
    seat_y = hip_y + look.thick * 0.7  # the hip joint is half a leg's width above the seat
    back_x, front_x = hip_x - f * 0.1 * h, hip_x + f * 0.17 * h
    for x in (back_x, front_x):
        _segment(img, (x, seat_y), (x, look.ground_y + 0.02 * h), look.chair, thick)
    _segment(img, (back_x, seat_y - 0.3 * h), (back_x, seat_y), look.chair, thick)
    _segment(img, (back_x, seat_y), (front_x, seat_y), look.chair, thick + 2)


# ---------------------------------------------------------------- clips


def _progress(motion: _Motion, clip: _Clip, i: int) -> float:
    """Cycle phase (periodic motions) or eased 0..1 progress (one-way motions)."""
    if motion.freq:
        return clip.phase + motion.freq * clip.speed * i / FPS
    t = i / max(1, clip.frames - 1)
    x = min(1.0, max(0.0, (t - clip.holds[0]) / (1.0 - clip.holds[0] - clip.holds[1])))
    return x * x * (3.0 - 2.0 * x)  # smoothstep: start and stop gently


def _camera(clip: _Clip, i: int) -> tuple[int, int]:
    """Top-left corner of the frame inside the canvas: slow pan plus shake."""
    t = i / max(1, clip.frames - 1) - 0.5
    amp, f1, f2, p1, p2 = clip.shake
    x = _MARGIN + clip.pan[0] * t + amp * math.sin(2 * math.pi * f1 * i / FPS + p1)
    y = _MARGIN + clip.pan[1] * t + amp * math.sin(2 * math.pi * f2 * i / FPS + p2)
    return (min(2 * _MARGIN, max(0, round(x))), min(2 * _MARGIN, max(0, round(y))))


def _noise_bank(rng: np.random.Generator, level: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Two noise images split into parts to add and subtract (uint8 saturating ops are cheap).

    Each part is uniform on 0..level, so the pixel noise has zero mean and a standard
    deviation of about ``0.4 * level``.
    """
    shape = (HEIGHT + _NOISE_PAD, WIDTH + _NOISE_PAD, 3)
    return [(rng.integers(0, level + 1, shape, dtype=np.uint8),
             rng.integers(0, level + 1, shape, dtype=np.uint8)) for _ in range(2)]


def iter_frames(class_name: str, group: int, clip_no: int, seed: int,
                 size: DemoSize) -> Iterator[np.ndarray]:
    """RGB frames of a forward (non-reversed) class.

    Every frame is the same buffer, overwritten by the next one (fresh 230 KB arrays
    per frame cost more than drawing them): copy what you keep.
    """
    motion, look = _MOTIONS[class_name], _look(seed, class_name, group)
    clip = _clip(seed, class_name, group, clip_no, size)
    scene = _background(seed, class_name, group).copy()
    if motion.chair:
        _draw_chair(scene, motion, look, clip)
    rng = _rng(seed, class_name, group, clip_no, 4)
    bank = _noise_bank(rng, clip.noise)
    offsets = rng.integers(0, _NOISE_PAD + 1, (clip.frames, 2))
    canvas, frame = np.empty_like(scene), np.empty((HEIGHT, WIDTH, 3), np.uint8)
    for i in range(clip.frames):
        np.copyto(canvas, scene)
        pose = motion.pose(_progress(motion, clip, i), clip.amp)
        _draw_figure(canvas, pose, motion, look, clip.shift)
        cx, cy = _camera(clip, i)
        (pos, neg), (nx, ny) = bank[i % len(bank)], offsets[i]
        noise = np.s_[ny:ny + HEIGHT, nx:nx + WIDTH]
        cv2.add(canvas[cy:cy + HEIGHT, cx:cx + WIDTH], pos[noise], dst=frame)
        yield cv2.subtract(frame, neg[noise], dst=frame)


def size_spec(size: str) -> DemoSize:
    if size not in SIZES:
        raise InputError(f"unknown demo size {size!r}; valid sizes: {', '.join(SIZES)}")
    return SIZES[size]


def check_seed(seed) -> int:
    # numpy seeds must be non-negative integers; bool is an int but surely a mistake
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _check_clip_args(class_name: str, group: int, clip: int) -> None:
    if class_name not in DEMO_CLASSES:
        raise InputError(f"unknown demo class {class_name!r}; "
                         f"valid classes: {', '.join(DEMO_CLASSES)}")
    if not 1 <= group <= GROUPS or not 1 <= clip <= 99:
        raise InputError(f"group must be 1..{GROUPS} and clip 1..99, got g{group} c{clip}")


def render_clip(class_name: str, group: int, clip: int, seed: int = 0,
                size: str = "demo") -> np.ndarray:
    """Render one demo clip in memory.

    Args:
        class_name: one of ``DEMO_CLASSES``.
        group: group number 1..25; clips of a group share scene, actor and camera.
        clip: clip number within the group, from 1.
        seed: dataset seed; the same arguments always give the same pixels.
        size: a key of ``SIZES``; it sets the duration range.

    Returns:
        uint8 **RGB** frames, shape (T, 240, 320, 3), T = 25 fps x duration. For the second
        class of a ``REVERSE_PAIRS`` entry this is exactly the first class's clip with the
        same arguments, frames in reverse order.

    Raises:
        InputError: unknown class or size, or group/clip/seed out of range.
    """
    spec, seed = size_spec(size), check_seed(seed)
    _check_clip_args(class_name, group, clip)
    source = source_class(class_name)
    frames = np.stack([f.copy() for f in iter_frames(source, group, clip, seed, spec)])
    return np.ascontiguousarray(frames[::-1]) if source != class_name else frames


