"""A CLEVR-like synthetic scene set: deterministic scenes, their masks and scene graphs, and the ground truth of
every edit (remove, move, replace, add, recolor). numpy and scipy only.

    spec = random_scene(seed=7, num_objects=4)                    # a SceneSpec: objects, ground, light, camera
    scene = render_scene(spec, 256, 256)                          # image, object/shadow masks, boxes, classes, graph
    pair = render_edit(edit_remove(spec, 0), 256, 256)            # pair.after.image is the ground truth
"""
from .edits import (EDIT_KINDS, RenderedEdit, SceneEdit, edit_add, edit_move, edit_recolor, edit_remove,
                    edit_replace, random_edit, render_edit)
from .layout import LayoutError, layout_problem, random_scene
from .relations import PREDICATES, ObjectNode, Relation, SceneGraph, relation_holds, scene_graph
from .renderer import RenderedScene, render_background, render_scene
from .scene_spec import (CLASSES, COLOURS, MATERIALS, SHAPES, SIZES, BackgroundSpec, CameraSpec, LightSpec,
                         SceneObject, SceneSpec, class_name)

__all__ = [
    "BackgroundSpec", "CLASSES", "COLOURS", "CameraSpec", "EDIT_KINDS", "LayoutError", "LightSpec", "MATERIALS",
    "ObjectNode", "PREDICATES", "Relation", "RenderedEdit", "RenderedScene", "SHAPES", "SIZES", "SceneEdit",
    "SceneGraph", "SceneObject", "SceneSpec", "class_name", "edit_add", "edit_move", "edit_recolor", "edit_remove",
    "edit_replace", "layout_problem", "random_edit", "random_scene", "relation_holds", "render_background",
    "render_edit", "render_scene", "scene_graph",
]
