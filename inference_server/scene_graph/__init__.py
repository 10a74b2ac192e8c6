"""The scene graph of a photo's detected objects, and resolving an edit's target to a mask.

relations.py: pairwise relations (left of, above, in front of, near, overlapping, on, ...) from boxes and masks.
targets.py: an object id, a class name ("person", "person:2"), a hint box, or a class plus a hint box -> one mask.
box_geometry.py: areas, intersections, IoU and gaps of (x0, y0, x1, y1) boxes with exclusive ends.
Object ids are indices into the detection list they were computed from (Segmenter.detect's order).
Not to be confused with ..scenes, the synthetic 3D scene generator, whose relations come from world coordinates.
"""
