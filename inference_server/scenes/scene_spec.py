"""What a synthetic scene is made of: objects on a ground plane, the ground's texture, the light and the camera.

World coordinates (CLEVR's units): the ground is the plane z = 0, x points to the camera's right, y away from the
camera (into the picture), z up. Objects stand on the ground; their positions lie in about [-3, 3] x [-3, 3].
A spec holds no pixels: the same spec renders the same picture at any resolution (see renderer.render_scene).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

SHAPES: tuple[str, ...] = ("sphere", "cube", "cylinder")
# CLEVR's colour values (clevr-dataset-gen/image_generation/data/properties.json), RGB 0..255.
COLOURS: dict[str, tuple[int, int, int]] = {
    "gray": (87, 87, 87),
    "red": (173, 35, 35),
    "blue": (42, 75, 215),
    "green": (29, 105, 20),
    "brown": (129, 74, 25),
    "purple": (129, 38, 192),
    "cyan": (41, 208, 208),
    "yellow": (255, 238, 51),
}
MATERIALS: tuple[str, ...] = ("matte", "shiny")  # CLEVR's rubber and metal
SIZES: dict[str, float] = {"small": 0.35, "large": 0.7}  # CLEVR's radii, in world units
# SIMBIL A.1: Mask R-CNN classifies 24 categories, 3 shapes x 8 colours, e.g. "red cube".
CLASSES: tuple[str, ...] = tuple(f"{colour} {shape}" for shape in SHAPES for colour in COLOURS)
BACKGROUND_KINDS: tuple[str, ...] = ("noise", "tiles", "gradient")


def class_name(colour: str, shape: str) -> str:
    """'red cube' for ('red', 'cube'); one of CLASSES."""
    return f"{colour} {shape}"


@dataclass(frozen=True)
class SceneObject:
    """One object standing on the ground.

    shape: one of SHAPES. colour: a COLOURS name. material: one of MATERIALS.
    size: radius in world units (CLEVR: 0.35 small, 0.7 large). A sphere has this radius; a cylinder this radius and
        twice this height; a cube half-side size / sqrt(2) (as in CLEVR), so every shape's footprint fits a circle
        of radius `size`.
    x, y: where it stands on the ground (its footprint's centre).
    rotation_deg: turn about the vertical axis (matters for cubes only).
    """

    shape: str
    colour: str
    material: str = "matte"
    size: float = SIZES["large"]
    x: float = 0.0
    y: float = 0.0
    rotation_deg: float = 0.0

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(f"Expected a shape in {SHAPES}, but found '{self.shape}'")
        if self.colour not in COLOURS:
            raise ValueError(f"Expected a colour in {tuple(COLOURS)}, but found '{self.colour}'")
        if self.material not in MATERIALS:
            raise ValueError(f"Expected a material in {MATERIALS}, but found '{self.material}'")
        if not 0.05 <= self.size <= 3.0:
            raise ValueError(f"Expected a size between 0.05 and 3 world units, but found {self.size}")

    @property
    def class_name(self) -> str:
        return class_name(self.colour, self.shape)

    @property
    def half_extent(self) -> float:
        """Half the width of the object's body: the radius, or a cube's half-side."""
        return self.size / math.sqrt(2.0) if self.shape == "cube" else self.size

    @property
    def height(self) -> float:
        """Top of the object above the ground."""
        return 2.0 * self.half_extent

    def moved(self, x: float, y: float) -> SceneObject:
        return replace(self, x=x, y=y)


@dataclass(frozen=True)
class BackgroundSpec:
    """The ground's texture, defined in ground coordinates (so it shows perspective and never looks flat).

    kind: "noise" (mottled concrete), "tiles" (floor tiles with grout lines and per-tile tints) or "gradient" (a
        two-colour gradient with faint mottling).
    colours: two RGB colours (0..255) the texture mixes.
    scale: feature size in world units (noise blotches, tile side, gradient length).
    angle_deg: orientation of tiles and of the gradient on the ground.
    texture_seed: seeds the random lattices behind the texture.
    spot: (x, y) on the ground where the light pool is brightest; spot_radius: its extent in world units.
    """

    kind: str = "noise"
    colours: tuple[tuple[int, int, int], tuple[int, int, int]] = ((150, 146, 138), (118, 114, 108))
    scale: float = 1.2
    angle_deg: float = 0.0
    texture_seed: int = 0
    spot: tuple[float, float] = (0.0, 0.5)
    spot_radius: float = 5.0

    def __post_init__(self) -> None:
        if self.kind not in BACKGROUND_KINDS:
            raise ValueError(f"Expected a background kind in {BACKGROUND_KINDS}, but found '{self.kind}'")
        if self.scale <= 0:
            raise ValueError(f"Expected a positive background scale, but found {self.scale}")


@dataclass(frozen=True)
class LightSpec:
    """A directional key light. azimuth 0 = light coming from the camera's left; elevation above the ground."""

    azimuth_deg: float = 35.0
    elevation_deg: float = 55.0

    @property
    def direction(self) -> tuple[float, float, float]:
        """Unit vector from the ground towards the light."""
        azimuth, elevation = math.radians(self.azimuth_deg), math.radians(self.elevation_deg)
        horizontal = math.cos(elevation)
        # azimuth 0: light on the left (-x); positive azimuth swings it behind the objects (+y).
        return (-horizontal * math.cos(azimuth), horizontal * math.sin(azimuth), math.sin(elevation))


@dataclass(frozen=True)
class CameraSpec:
    """A pinhole camera above the ground looking down at it.

    fov_deg spans the image's shorter side, so the central square of the view is the same at every aspect ratio.
    """

    position: tuple[float, float, float] = (0.0, -9.0, 7.6)
    look_at: tuple[float, float, float] = (0.0, 0.4, 0.0)
    fov_deg: float = 40.0


@dataclass(frozen=True)
class SceneSpec:
    """Everything that decides a scene's pixels. Edits return a new spec; the background and light stay."""

    objects: tuple[SceneObject, ...]
    background: BackgroundSpec = field(default_factory=BackgroundSpec)
    light: LightSpec = field(default_factory=LightSpec)
    camera: CameraSpec = field(default_factory=CameraSpec)

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(obj.class_name for obj in self.objects)

    def with_objects(self, objects: tuple[SceneObject, ...] | list[SceneObject]) -> SceneSpec:
        return replace(self, objects=tuple(objects))
