"""The synthetic scene set: determinism, masks against pixels, edits against their masks, relations, sizes."""
from __future__ import annotations

import math

import numpy as np
import pytest

from inference_server.scenes import (CLASSES, COLOURS, EDIT_KINDS, PREDICATES, SHAPES, BackgroundSpec, LayoutError,
                                     LightSpec, SceneObject, SceneSpec, edit_add, edit_move, edit_recolor,
                                     edit_remove, edit_replace, layout_problem, random_edit, random_scene,
                                     render_background, render_edit, render_scene, scene_graph)
from inference_server.scenes.camera import Camera

SIDE = 128
CLEVR_EPSILON = 0.2  # world units; clevr-dataset-gen compute_all_relationships(eps=0.2)


@pytest.fixture(scope="module")
def spec() -> SceneSpec:
    return random_scene(11, num_objects=5)


@pytest.fixture(scope="module")
def scene(spec):
    return render_scene(spec, SIDE, SIDE)


def _two_objects(first: SceneObject, second: SceneObject, kind: str = "noise") -> SceneSpec:
    return SceneSpec(objects=(first, second), background=BackgroundSpec(kind=kind, texture_seed=3))


def test_same_seed_and_size_give_identical_bytes():
    a, b = random_scene(4), random_scene(4)
    assert a == b
    first, second = render_scene(a, 96, 80), render_scene(b, 96, 80)
    assert first.image.tobytes() == second.image.tobytes()
    assert np.array_equal(first.object_masks, second.object_masks)
    assert np.array_equal(first.shadow_masks, second.shadow_masks)
    other = render_scene(random_scene(5), 96, 80)
    assert first.image.tobytes() != other.image.tobytes()


def test_output_shapes_and_types(scene, spec):
    count = len(spec.objects)
    assert scene.image.shape == (SIDE, SIDE, 3) and scene.image.dtype == np.uint8
    assert scene.object_masks.shape == scene.shadow_masks.shape == (count, SIDE, SIDE)
    assert scene.object_masks.dtype == bool and scene.shadow_masks.dtype == bool
    assert scene.boxes.shape == (count, 4)
    assert scene.classes == tuple(f"{obj.colour} {obj.shape}" for obj in spec.objects)


def test_there_are_24_classes_of_shape_and_colour():
    assert len(CLASSES) == 24 and len(set(CLASSES)) == 24
    assert set(CLASSES) == {f"{colour} {shape}" for colour in COLOURS for shape in SHAPES}
    assert set(COLOURS) == {"gray", "red", "blue", "green", "brown", "purple", "cyan", "yellow"}


def test_pixels_outside_every_mask_are_the_bare_background(scene, spec):
    background = render_background(spec, SIDE, SIDE)
    covered = scene.object_masks.any(axis=0) | scene.shadow_masks.any(axis=0)
    assert np.array_equal(scene.image[~covered], background[~covered])
    # and the masks are not padded with untouched pixels: nearly all of an object's pixels differ from the ground
    for mask in scene.object_masks:
        changed = (scene.image[mask] != background[mask]).any(axis=1)
        assert changed.mean() > 0.95


def test_each_object_matches_its_render_alone(scene, spec):
    for index, obj in enumerate(spec.objects):
        alone = render_scene(spec.with_objects((obj,)), SIDE, SIDE)
        visible = scene.object_masks[index]
        assert not (visible & ~alone.object_masks[0]).any()  # visible part lies within its own silhouette
        others = np.zeros_like(visible)
        for other in range(len(spec.objects)):
            if other != index:
                others |= scene.object_masks[other] | scene.shadow_masks[other]
        hidden = alone.object_masks[0] & ~visible
        assert not (hidden & ~others).any()  # whatever is missing is covered by something else
        free = ~others
        assert np.array_equal(scene.image[free], alone.image[free])


def test_boxes_are_the_bounding_boxes_of_the_masks(scene):
    for mask, (x0, y0, x1, y1) in zip(scene.object_masks, scene.boxes):
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        assert (x0, y0, x1, y1) == (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)


def test_a_sphere_lands_where_the_camera_projects_it():
    sphere = SceneObject("sphere", "red", "matte", size=0.7, x=0.8, y=-0.5)
    rendered = render_scene(SceneSpec(objects=(sphere,)), 256, 256)
    camera = Camera.for_image(SceneSpec(objects=()).camera, 256, 256)
    centre = np.array([sphere.x, sphere.y, sphere.size])
    col, row = camera.project(centre[None])[0]
    distance = np.linalg.norm(centre - camera.origin)
    diameter = 2 * camera.focal_px * math.tan(math.asin(sphere.size / distance))
    x0, y0, x1, y1 = rendered.boxes[0]
    assert abs((x0 + x1) / 2 - col) < 1.5 and abs((y0 + y1) / 2 - row) < 1.5
    assert abs((x1 - x0) - diameter) < 2.5 and abs((y1 - y0) - diameter) < 4.0
    area = rendered.object_masks[0].sum()
    assert 0.95 * math.pi * diameter**2 / 4 < area < 1.25 * math.pi * diameter**2 / 4


def test_shadow_falls_away_from_the_light_and_darkens_the_ground():
    cube = SceneObject("cube", "yellow", "shiny", size=0.7, x=0.0, y=0.0, rotation_deg=20)
    spec = SceneSpec(objects=(cube,), light=LightSpec(azimuth_deg=0.0, elevation_deg=50.0))  # light from the left
    rendered = render_scene(spec, 192, 192)
    background = render_background(spec, 192, 192).astype(int)
    shadow = rendered.shadow_masks[0] & ~rendered.object_masks[0]
    assert shadow.sum() > 100
    cols = np.nonzero(shadow)[1]
    object_cols = np.nonzero(rendered.object_masks[0])[1]
    assert cols.mean() > object_cols.mean() + 3  # to the right, away from the light
    darkening = background[shadow].sum(axis=1) - rendered.image[shadow].astype(int).sum(axis=1)
    assert (darkening >= 0).all() and (darkening > 0).mean() > 0.8


@pytest.mark.parametrize("kind", EDIT_KINDS)
def test_edits_change_pixels_only_inside_their_masks(kind):
    spec = random_scene(21, num_objects=4)
    edit = random_edit(spec, kind, seed=2)
    pair = render_edit(edit, SIDE, SIDE)
    changed = (pair.before.image != pair.after.image).any(axis=2)
    assert changed.any()
    assert not (changed & ~pair.changed_mask).any()
    x0, y0, x1, y1 = pair.roi_box
    rows, cols = np.nonzero(pair.changed_mask)
    assert (x0, y0, x1, y1) == (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)


def test_removal_shows_the_ground_and_the_object_behind():
    front = SceneObject("cube", "red", "matte", size=0.7, x=0.0, y=-1.0, rotation_deg=10)
    back = SceneObject("cylinder", "blue", "shiny", size=0.7, x=0.3, y=0.8)
    spec = _two_objects(front, back, kind="tiles")
    pair = render_edit(edit_remove(spec, 0), SIDE, SIDE)
    before, after = pair.before, pair.after
    hole = before.removal_mask(0)
    changed = (before.image != after.image).any(axis=2)
    assert not (changed & ~hole).any()
    assert changed[before.object_masks[0]].mean() > 0.95  # the object is gone ...
    assert changed[before.shadow_masks[0] & ~before.object_masks[0]].mean() > 0.5  # ... and its shadow with it
    revealed = after.object_masks[0] & ~before.object_masks[1]  # the cylinder shows where the cube hid it
    assert revealed.sum() > 20 and not (revealed & ~before.object_masks[0]).any()
    ground = render_background(spec, SIDE, SIDE)
    bare = hole & ~after.object_masks[0] & ~after.shadow_masks[0]
    assert bare.sum() > 50 and np.array_equal(after.image[bare], ground[bare])
    assert after.classes == ("blue cylinder",) and len(after.graph.objects) == 1


def test_move_satisfies_the_new_relation_and_keeps_the_others_still():
    spec = random_scene(8, num_objects=4)
    graph = scene_graph(spec)
    subject, reference = 0, 1
    predicate = next(p for p in PREDICATES if (subject, p, reference) not in
                     {(r.subject, r.predicate, r.object) for r in graph.relations})
    edit = edit_move(spec, subject, predicate, reference, seed=3)
    assert edit.after.objects[1:] == spec.objects[1:]
    assert (edit.after.objects[0].x, edit.after.objects[0].y) != (spec.objects[0].x, spec.objects[0].y)
    assert subject in render_edit(edit, 96, 96).after_graph.related(reference, predicate)
    assert layout_problem(edit.after) is None


def test_move_that_cannot_be_met_raises():
    leftmost = SceneObject("sphere", "red", size=0.7, x=-2.9, y=0.0)
    other = SceneObject("cube", "blue", size=0.35, x=1.5, y=1.0)
    with pytest.raises(LayoutError):
        edit_move(_two_objects(leftmost, other), 1, "left of", 0, seed=0)


def test_replace_and_recolor_keep_the_place():
    spec = random_scene(9, num_objects=3)
    replaced = edit_replace(spec, 1, shape="cylinder", colour="cyan")
    new = replaced.after.objects[1]
    assert (new.shape, new.colour, new.x, new.y, new.size) == ("cylinder", "cyan", spec.objects[1].x,
                                                                spec.objects[1].y, spec.objects[1].size)
    assert scene_graph(replaced.after).objects[1].class_name == "cyan cylinder"
    assert scene_graph(replaced.after).relations == scene_graph(spec).relations
    colour = "yellow" if spec.objects[2].colour != "yellow" else "red"
    pair = render_edit(edit_recolor(spec, 2, colour), SIDE, SIDE)
    assert np.array_equal(pair.before.object_masks, pair.after.object_masks)
    assert np.array_equal(pair.before.shadow_masks, pair.after.shadow_masks)
    changed = (pair.before.image != pair.after.image).any(axis=2)
    recoloured = pair.before.object_masks[2]
    assert not (changed & ~recoloured).any() and changed.sum() > 0.8 * recoloured.sum()


def test_add_places_the_object_where_asked():
    spec = random_scene(12, num_objects=3)
    new = SceneObject("sphere", "green", "shiny", size=0.35)
    edit = edit_add(spec, new, [("behind", 0), ("right of", 2)], seed=1)
    pair = render_edit(edit, SIDE, SIDE)
    assert edit.after_index == 3 and pair.after.classes[3] == "green sphere"
    assert 3 in pair.after_graph.related(0, "behind") and 3 in pair.after_graph.related(2, "right of")
    changed = (pair.before.image != pair.after.image).any(axis=2)
    assert not (changed & ~pair.after.removal_mask(3)).any()
    assert pair.after.object_masks[3].sum() > 10


def test_relations_follow_clevr_definition(spec):
    graph = scene_graph(spec)
    held = {(r.subject, r.predicate, r.object) for r in graph.relations}
    for i, a in enumerate(spec.objects):
        for j, b in enumerate(spec.objects):
            if i == j:
                continue
            # the default camera looks along +y: right = +x, behind = +y
            assert ((i, "right of", j) in held) == (a.x - b.x > CLEVR_EPSILON)
            assert ((i, "left of", j) in held) == (b.x - a.x > CLEVR_EPSILON)
            assert ((i, "behind", j) in held) == (a.y - b.y > CLEVR_EPSILON)
            assert ((i, "in front of", j) in held) == (b.y - a.y > CLEVR_EPSILON)
            assert ((i, "left of", j) in held) == ((j, "right of", i) in held)
    # the layout margin makes every pair's left/right and front/behind clear-cut
    assert len(held) == 2 * len(spec.objects) * (len(spec.objects) - 1)
    # closer than epsilon along an axis: no relation on that axis
    a = SceneObject("sphere", "red", size=0.35, x=0.0, y=0.0)
    for dx, expected in ((0.15, ()), (0.25, (1,))):
        pair = _two_objects(a, SceneObject("cube", "gray", size=0.35, x=dx, y=1.5))
        assert scene_graph(pair).related(0, "right of") == expected
        assert scene_graph(pair).related(0, "behind") == (1,)


def test_relations_agree_with_the_picture():
    left = SceneObject("cube", "red", size=0.7, x=-1.5, y=0.0)
    right = SceneObject("sphere", "blue", size=0.7, x=1.5, y=0.0)
    row = render_scene(_two_objects(left, right), SIDE, SIDE)
    assert 0 in row.graph.related(1, "left of") and row.boxes[0][2] <= row.boxes[1][0]
    near = SceneObject("cylinder", "green", size=0.7, x=0.0, y=-2.0)
    far = SceneObject("cylinder", "yellow", size=0.7, x=0.0, y=2.5)
    column = render_scene(_two_objects(near, far), SIDE, SIDE)
    assert 1 in column.graph.related(0, "behind") and 0 in column.graph.related(1, "in front of")
    (nx0, ny0, nx1, ny1), (fx0, fy0, fx1, fy1) = column.boxes
    assert fy1 < ny1 and fy0 < ny0  # farther is higher in the picture ...
    assert (fx1 - fx0) < 0.85 * (nx1 - nx0)  # ... and smaller


def test_random_scenes_keep_the_layout_rules():
    for seed in range(3):
        spec = random_scene(seed, num_objects=6)
        assert len(spec.objects) == 6 and layout_problem(spec) is None
        rendered = render_scene(spec, 96, 96)
        assert (rendered.visible_fraction >= 0.5).all()
        assert all(mask.any() for mask in rendered.object_masks)


def test_resolution_range_and_scale_invariance(spec):
    small, large = render_scene(spec, 64, 64), render_scene(spec, 256, 256)
    assert small.image.shape == (64, 64, 3) and large.image.shape == (256, 256, 3)
    for index in range(len(spec.objects)):
        grown = np.kron(small.object_masks[index], np.ones((4, 4), dtype=bool))
        overlap = (grown & large.object_masks[index]).sum() / (grown | large.object_masks[index]).sum()
        assert overlap > 0.7  # the same object in the same place at both sizes
        assert np.abs(small.boxes[index] * 4 - large.boxes[index]).max() <= 6
    wide = render_scene(spec, 160, 80)
    assert wide.image.shape == (80, 160, 3)
    for width, height in ((63, 64), (64, 2049), (2048, 512)):
        with pytest.raises(ValueError):
            render_scene(spec, width, height)
    Camera.for_image(spec.camera, 2048, 2048)  # the top size is accepted
