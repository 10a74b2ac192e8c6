"""PatchMatch for hole filling: for every patch that overlaps the hole, the most similar patch of known pixels.

All queries are searched at once with tensor ops (no per-pixel loop), so the same code runs on a GPU or a CPU:
propagation reads the neighbours' matches from a dense map (jump flooding: neighbours 4, 2, 1 px away, so a good
match spreads across the hole in a few rounds), and random search samples around the current match at radii halving
from `search_radius` to 1. A candidate that is not a valid source (a patch not entirely of known pixels) is moved to
the nearest valid one through a precomputed map.

Coordinates are in a padded frame: the level's image padded by the patch radius r on every side, so every query
patch can be read without bounds checks. Images are channels-last and flat: (Hp * Wp, C) float; coordinates are
(N,) int64 rows and columns in that frame.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage

PROPAGATION_JUMPS = (4, 2, 1)  # from random matches: a good match spreads far in few rounds
FINE_PROPAGATION_JUMPS = (1,)  # from inherited matches, already coherent


@dataclass
class SearchSpace:
    """What one pyramid level searches over.

    pixels: (Hp * Wp, C) the level's current image, channels last, padded by r.
    height, width: Hp, Wp. radius: r, the patch radius (patch side 2r + 1).
    offsets: (P * P,) flat offsets of a patch's pixels from its centre.
    nearest_valid: (Hp * Wp,) for every pixel, the flat index of the nearest valid source centre.
    box: (y0, x0, y1, x1) the queries' bounding box in the padded frame (ends exclusive).
    query_rows, query_cols: (N,) the query centres: every pixel whose patch overlaps the hole.
    """

    pixels: torch.Tensor
    height: int
    width: int
    radius: int
    offsets: torch.Tensor
    nearest_valid: torch.Tensor
    box: tuple[int, int, int, int]
    query_rows: torch.Tensor
    query_cols: torch.Tensor

    @property
    def query_flat(self) -> torch.Tensor:
        return self.query_rows * self.width + self.query_cols


def patch_offsets(radius: int, width: int, device: torch.device) -> torch.Tensor:
    """(P * P,) flat offsets of the pixels of a (2r + 1)-sided patch from its centre, row by row."""
    steps = torch.arange(-radius, radius + 1, device=device)
    return (steps[:, None] * width + steps[None, :]).reshape(-1)


def valid_sources(known: np.ndarray, radius: int) -> np.ndarray:
    """Centres whose whole patch is known: (Hp, Wp) bool. `known` is already padded (False in the padding)."""
    side = 2 * radius + 1
    return ndimage.binary_erosion(known, structure=np.ones((side, side), bool), border_value=0)


def nearest_valid_map(valid: np.ndarray) -> np.ndarray:
    """For every pixel, the flat index of the nearest valid centre (Euclidean): (Hp * Wp,) int64."""
    _, (rows, cols) = ndimage.distance_transform_edt(~valid, return_indices=True)
    return (rows.astype(np.int64) * valid.shape[1] + cols).reshape(-1)


def gather_patches(pixels: torch.Tensor, centres: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Patches at flat `centres` (N,) of `pixels` (Hp * Wp, C): (N, P * P, C)."""
    return pixels[centres[:, None] + offsets[None, :]]


def patch_distance(queries: torch.Tensor, pixels: torch.Tensor, sources: torch.Tensor,
                   offsets: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between the query patches (N, P * P, C) and the patches at `sources` (N,): (N,)."""
    return ((queries - gather_patches(pixels, sources, offsets)) ** 2).mean(dim=(1, 2))


def snap(space: SearchSpace, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """Flat index of the valid source centre nearest to (rows, cols), clamped into the frame first."""
    rows = rows.clamp(0, space.height - 1)
    cols = cols.clamp(0, space.width - 1)
    return space.nearest_valid[rows * space.width + cols]


def random_field(space: SearchSpace, generator: torch.Generator) -> torch.Tensor:
    """A first match for every query: a random valid source, (N,) flat."""
    count = space.query_rows.numel()
    device = space.query_rows.device
    rows = torch.randint(0, space.height, (count,), generator=generator, device=device)
    cols = torch.randint(0, space.width, (count,), generator=generator, device=device)
    return snap(space, rows, cols)


def _improve(queries: torch.Tensor, space: SearchSpace, match: torch.Tensor, cost: torch.Tensor,
             candidate: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    candidate_cost = patch_distance(queries, space.pixels, candidate, space.offsets)
    better = candidate_cost < cost
    return torch.where(better, candidate, match), torch.where(better, candidate_cost, cost)


def _dense(space: SearchSpace, values: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
    """The queries' `values` (N,) placed on the query box, `fill` (the box's shape) elsewhere."""
    y0, x0, _, _ = space.box
    grid = fill.clone()
    grid[space.query_rows - y0, space.query_cols - x0] = values
    return grid


def search(space: SearchSpace, match: torch.Tensor, rounds: int, search_radius: int,
           generator: torch.Generator, jumps: tuple[int, ...] = PROPAGATION_JUMPS) -> tuple[torch.Tensor, torch.Tensor]:
    """Improves the matches `match` (N,) flat for `rounds` rounds of propagation (from the neighbours `jumps` px
    away) and random search.

    Returns (match, cost): the new matches and their mean squared patch differences, both (N,).
    """
    queries = gather_patches(space.pixels, space.query_flat, space.offsets)  # (N, P*P, C)
    cost = patch_distance(queries, space.pixels, match, space.offsets)
    y0, x0, y1, x1 = space.box
    box_h, box_w = y1 - y0, x1 - x0
    rows_local, cols_local = space.query_rows - y0, space.query_cols - x0
    none = torch.full((box_h, box_w), -1, dtype=torch.long, device=match.device)  # box pixels that are no query
    for _ in range(rounds):
        for jump in jumps:
            for dy, dx in ((0, jump), (0, -jump), (jump, 0), (-jump, 0)):
                match_rows = _dense(space, torch.div(match, space.width, rounding_mode="floor"), none)
                match_cols = _dense(space, match % space.width, none)
                # The neighbour at (y + dy, x + dx) matched (sy, sx): propose (sy - dy, sx - dx) here.
                ny = (rows_local + dy).clamp(0, box_h - 1)
                nx = (cols_local + dx).clamp(0, box_w - 1)
                neighbour_rows, neighbour_cols = match_rows[ny, nx], match_cols[ny, nx]
                candidate = snap(space, neighbour_rows - dy, neighbour_cols - dx)
                candidate = torch.where(neighbour_rows >= 0, candidate, match)  # no query there: nothing to propose
                match, cost = _improve(queries, space, match, cost, candidate)
        radius = search_radius
        while radius >= 1:
            rows = torch.div(match, space.width, rounding_mode="floor")
            cols = match % space.width
            shift = torch.randint(-radius, radius + 1, (2, match.numel()), generator=generator, device=match.device)
            match, cost = _improve(queries, space, match, cost, snap(space, rows + shift[0], cols + shift[1]))
            radius //= 2
    return match, cost
