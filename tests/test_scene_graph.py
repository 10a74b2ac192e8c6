"""Scene-graph relations and target resolution on hand-made detections with known boxes and masks."""
from __future__ import annotations

import numpy as np
import pytest

from inference_server.errors import InvalidInputError
from inference_server.scene_graph.box_geometry import box_gap, box_intersection, box_iou
from inference_server.scene_graph.relations import (
    ABOVE, BEHIND, BELOW, IN_FRONT_OF, LEFT_OF, NEAR, ON, OVERLAPPING, PREDICATES, RIGHT_OF, Relation,
    RelationOptions, as_triplets, extract_relations, pair_predicates)
from inference_server.scene_graph.targets import (
    ClassTarget, TargetQuery, instance_order, parse_class_target, resolve_target, target_from_box,
    target_from_class, target_from_class_and_box, target_from_ids)
from inference_server.segmentation.detection import Detection
from inference_server.segmentation.errors import NotFoundError

HEIGHT, WIDTH = 60, 100
KNOWN = ("person", "bicycle", "car", "dog", "cup", "dining table", "traffic light")


def box_mask(box, shape=(HEIGHT, WIDTH)) -> np.ndarray:
    x0, y0, x1, y1 = box
    mask = np.zeros(shape, bool)
    mask[y0:y1, x0:x1] = True
    return mask


def detection(class_name, box, score=0.9, mask=None) -> Detection:
    return Detection(class_name, score, box, box_mask(box) if mask is None else mask)


def predicates(a, b, **options) -> list[str]:
    """What extract_relations says about detections a -> b (box masks)."""
    relations = extract_relations([detection("cat", a), detection("cat", b)], RelationOptions(**options))
    return [r.predicate for r in relations if r.subject == 0]


# relations


def test_box_geometry():
    assert box_intersection((0, 0, 10, 10), (10, 0, 20, 10)) is None  # touching edges share no pixel
    assert box_intersection((0, 0, 10, 10), (5, 5, 20, 20)) == (5, 5, 10, 10)
    assert box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert box_iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert box_gap((0, 0, 10, 10), (10, 0, 20, 10)) == 0.0
    assert box_gap((0, 0, 10, 10), (13, 14, 20, 20)) == 5.0  # 3 columns and 4 rows between


def test_left_and_right_are_mirrors_and_nothing_else_holds_far_apart():
    left, right = (0, 10, 10, 20), (30, 10, 40, 20)
    assert predicates(left, right) == [LEFT_OF]
    assert predicates(right, left) == [RIGHT_OF]


def test_direction_needs_more_than_the_margin():
    # margin 0.1 x mean width 10 = 1 px between the centres
    assert LEFT_OF not in predicates((0, 0, 10, 10), (1, 0, 11, 10))
    assert LEFT_OF in predicates((0, 0, 10, 10), (2, 0, 12, 10))
    assert LEFT_OF in predicates((0, 0, 10, 10), (1, 0, 11, 10), direction_margin=0.0)


def test_above_below_and_the_depth_cue_of_the_bottom_edge():
    top, bottom = (0, 0, 10, 10), (0, 30, 10, 40)
    assert predicates(top, bottom) == [ABOVE, BEHIND]  # higher up and its bottom edge is higher: farther
    assert predicates(bottom, top) == [BELOW, IN_FRONT_OF]


def test_depth_follows_the_bottom_edge_not_the_centre():
    tall, short = (0, 10, 10, 40), (40, 15, 50, 35)  # same centre height (25), bottoms 40 vs 35
    assert predicates(tall, short) == [LEFT_OF, IN_FRONT_OF]
    assert predicates(short, tall) == [RIGHT_OF, BEHIND]
    assert IN_FRONT_OF not in predicates(tall, short, depth_margin=0.25)  # 5 px < 0.25 x mean height 25


def test_near_is_a_gap_below_a_share_of_the_sizes_both_ways():
    a = (0, 0, 10, 10)
    assert NEAR in predicates(a, (14, 0, 24, 10)) and NEAR in predicates((14, 0, 24, 10), a)  # gap 4 < 5
    assert NEAR not in predicates(a, (15, 0, 25, 10))  # gap 5 is not below 0.5 x 10
    assert NEAR in predicates(a, (10, 0, 20, 10))  # touching
    assert NEAR not in predicates(a, (14, 0, 24, 10), near_gap=0.0)


def test_masks_overlapping_make_overlapping_not_near():
    a, b = (0, 0, 20, 20), (17, 0, 37, 20)  # boxes share 3 columns: 15% of the smaller box, under 25%
    assert predicates(a, b) == [LEFT_OF, OVERLAPPING]  # box masks share 15% of their pixels >= 5%
    assert predicates(b, a) == [RIGHT_OF, OVERLAPPING]
    thin = np.zeros((HEIGHT, WIDTH), bool)
    thin[0:20, 0:17] = True  # the same boxes, masks that do not meet: near, not overlapping
    pair = [detection("cat", a, mask=thin), detection("dog", b)]
    assert [r.predicate for r in extract_relations(pair) if r.subject == 0] == [LEFT_OF, NEAR]


def test_boxes_overlapping_enough_overlap_even_when_the_masks_do_not():
    front, back = (10, 10, 30, 40), (20, 5, 40, 30)  # an occluder and what it hides: boxes share 10x20 = 200 px
    back_mask = box_mask(back) & ~box_mask(front)
    pair = [detection("person", front), detection("car", back, mask=back_mask)]
    found = {(r.subject, r.predicate) for r in extract_relations(pair)}
    assert (0, OVERLAPPING) in found and (1, OVERLAPPING) in found
    assert (0, IN_FRONT_OF) in found and (1, BEHIND) in found
    stricter = extract_relations(pair, RelationOptions(box_overlap=0.5))  # 200 < 0.5 x 500, masks apart
    assert OVERLAPPING not in {r.predicate for r in stricter}


def test_on_needs_the_bottom_edge_in_the_top_band_of_the_reference():
    table = (10, 12, 50, 30)  # band: rows 12 < y1 <= 12 + 0.5 x 18 = 21
    assert ON in predicates((20, 5, 30, 15), table)  # a cup standing on it
    assert ON not in predicates(table, (20, 5, 30, 15))
    assert ON not in predicates((20, 5, 30, 25), table)  # bottom edge too low: in front of it, not on it
    assert ON not in predicates((20, 14, 30, 20), table)  # top inside the table: not standing above it
    assert ON not in predicates((52, 5, 60, 15), table)  # centre beside the table
    assert ON in predicates((20, 5, 30, 25), table, on_band=0.75)


def test_relations_of_a_scene_are_complete_and_in_order():
    cup, table, dog = (20, 5, 30, 15), (10, 12, 50, 30), (62, 20, 82, 50)
    detections = [detection("cup", cup), detection("dining table", table), detection("dog", dog)]
    relations = extract_relations(detections)
    assert relations == sorted(relations, key=lambda r: (r.subject, r.reference, PREDICATES.index(r.predicate)))
    assert relations == [
        Relation(0, LEFT_OF, 1), Relation(0, ABOVE, 1), Relation(0, BEHIND, 1), Relation(0, OVERLAPPING, 1),
        Relation(0, ON, 1),
        Relation(0, LEFT_OF, 2), Relation(0, ABOVE, 2), Relation(0, BEHIND, 2),
        Relation(1, RIGHT_OF, 0), Relation(1, BELOW, 0), Relation(1, IN_FRONT_OF, 0), Relation(1, OVERLAPPING, 0),
        Relation(1, LEFT_OF, 2), Relation(1, ABOVE, 2), Relation(1, BEHIND, 2), Relation(1, NEAR, 2),
        Relation(2, RIGHT_OF, 0), Relation(2, BELOW, 0), Relation(2, IN_FRONT_OF, 0),
        Relation(2, RIGHT_OF, 1), Relation(2, BELOW, 1), Relation(2, IN_FRONT_OF, 1), Relation(2, NEAR, 1)]
    assert extract_relations(list(detections)) == relations  # same input, same answer
    assert as_triplets(detections, relations)[4] == ("cup", "on", "dining table")


def test_pair_predicates_match_extract_relations_for_box_masks():
    a, b = (20, 5, 30, 15), (10, 12, 50, 30)
    share = 3 * 10 / 100  # box masks share 3 rows x 10 columns of the cup's 100 pixels
    assert pair_predicates(a, b, share) == predicates(a, b)


def test_fewer_than_two_objects_have_no_relations():
    assert extract_relations([]) == []
    assert extract_relations([detection("cat", (0, 0, 5, 5))]) == []


def test_masks_of_different_images_are_refused():
    other = Detection("cat", 0.5, (0, 0, 5, 5), np.ones((10, 10), bool))
    with pytest.raises(InvalidInputError, match="masks differ in size"):
        extract_relations([detection("cat", (0, 0, 5, 5)), other])


@pytest.mark.parametrize("options, message", [
    (dict(direction_margin=-0.1), "direction_margin must be a finite number of at least 0; got -0.1"),
    (dict(near_gap=float("nan")), "near_gap must be a finite number of at least 0; got nan"),
    (dict(on_band=0.0), "on_band must be above 0 and at most 1; got 0.0"),
    (dict(mask_overlap=1.5), "mask_overlap must be above 0 and at most 1; got 1.5"),
])
def test_relation_options_are_checked(options, message):
    with pytest.raises(InvalidInputError, match=message.replace("(", r"\(")):
        RelationOptions(**options)


# targets


@pytest.fixture
def street() -> list[Detection]:
    """Ids in score order, as detect() answers; persons left to right are 2, 0, 3."""
    return [
        detection("person", (40, 10, 50, 40), score=0.95),  # 0: middle person
        detection("car", (60, 20, 95, 50), score=0.9),  # 1
        detection("person", (5, 10, 15, 40), score=0.8),  # 2: leftmost person
        detection("person", (70, 5, 80, 35), score=0.7),  # 3: rightmost person, in front of the car
    ]


def test_parse_class_target():
    assert parse_class_target("person") == ClassTarget("person")
    assert parse_class_target("person:2") == ClassTarget("person", 2)
    assert parse_class_target("  Traffic   Light : 1 ") == ClassTarget("traffic light", 1)


@pytest.mark.parametrize("text, message", [
    ("person:0", "whole number from 1"), ("person:x", "whole number from 1"), ("person:", "whole number from 1"),
    ("person:²", "whole number from 1"), (":2", "names no class"), ("   ", "names no class")])
def test_parse_class_target_rejects(text, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_class_target(text)


def test_a_class_name_alone_takes_every_instance(street):
    target = target_from_class(street, ClassTarget("person"), KNOWN)
    assert target.object_ids == (0, 2, 3)
    assert np.array_equal(target.mask, street[0].mask | street[2].mask | street[3].mask)
    assert not (target.mask & street[1].mask & ~street[3].mask).any()  # the car's own pixels are not taken


@pytest.mark.parametrize("instance, expected", [(1, 2), (2, 0), (3, 3)])
def test_instances_count_left_to_right(street, instance, expected):
    target = target_from_class(street, ClassTarget("person", instance), KNOWN)
    assert target.object_ids == (expected,)
    assert np.array_equal(target.mask, street[expected].mask)


def test_instance_order_ties_go_to_the_higher_centre_then_the_higher_score_then_the_lower_id():
    same_x = [detection("cat", (0, 30, 10, 40), 0.9), detection("cat", (0, 0, 10, 10), 0.5)]
    assert instance_order(same_x, [0, 1]) == [1, 0]  # same centre x: the higher one first
    same_centre = [detection("cat", (0, 0, 10, 10), 0.5), detection("cat", (2, 2, 8, 8), 0.9)]
    assert instance_order(same_centre, [0, 1]) == [1, 0]  # same centre: the higher score first
    identical = [detection("cat", (0, 0, 10, 10), 0.5), detection("cat", (0, 0, 10, 10), 0.5)]
    assert instance_order(identical, [1, 0]) == [0, 1]


def test_an_instance_out_of_range_says_how_many_there_are(street):
    with pytest.raises(InvalidInputError) as too_far:
        target_from_class(street, ClassTarget("person", 4), KNOWN)
    assert str(too_far.value) == ("'person:4' asks for number 4 but 3 'person' were found "
                                  "(numbered 1 to 3, left to right)")
    with pytest.raises(InvalidInputError, match="asks for number 2 but 1 'car' was found"):
        target_from_class(street, ClassTarget("car", 2), KNOWN)


def test_an_unknown_class_lists_the_known_ones(street):
    with pytest.raises(InvalidInputError) as unknown:
        resolve_target(street, TargetQuery(class_target="persn"), KNOWN)
    assert str(unknown.value) == (
        "the model does not know the class 'persn' (did you mean 'person'?); it knows: bicycle, car, cup, "
        "dining table, dog, person, traffic light")
    with pytest.raises(InvalidInputError, match="not know the class 'unicorn'; it knows: bicycle"):
        resolve_target(street, TargetQuery(class_target="unicorn"), KNOWN)


def test_a_known_class_not_in_the_image_lists_what_was_found(street):
    with pytest.raises(NotFoundError) as missing:
        resolve_target(street, TargetQuery(class_target="dog"), KNOWN)
    assert str(missing.value) == "no 'dog' found; found: car, person"
    with pytest.raises(NotFoundError, match="no 'dog' found; nothing was detected in the image"):
        resolve_target([], TargetQuery(class_target="dog:1"), KNOWN)


def test_class_and_hint_box_take_the_instance_overlapping_it_most(street):
    selection = (35, 5, 55, 45)  # around the middle person, but also touching nothing else
    target = target_from_class_and_box(street, "person", selection, KNOWN)
    assert target.object_ids == (0,)
    on_car = (62, 10, 85, 45)  # covers the car and the rightmost person; the class decides
    assert target_from_class_and_box(street, "car", on_car, KNOWN).object_ids == (1,)
    assert target_from_class_and_box(street, "person", on_car, KNOWN).object_ids == (3,)


def test_hint_box_ties_go_to_the_higher_score_then_the_lower_id():
    twins = [detection("cat", (0, 0, 10, 10), 0.6), detection("cat", (20, 0, 30, 10), 0.8),
             detection("cat", (40, 0, 50, 10), 0.8)]
    assert target_from_box(twins, (0, 0, 30, 10)).object_ids == (1,)  # equal IoU 1/3: higher score wins
    assert target_from_box(twins, (28, 0, 45, 10)).object_ids == (2,)  # IoU 0.08 vs 0.23: the overlap decides
    equal = [detection("cat", (0, 0, 10, 10), 0.8), detection("cat", (20, 0, 30, 10), 0.8)]
    assert target_from_class_and_box(equal, "cat", (0, 0, 30, 10), ("cat",)).object_ids == (0,)


def test_class_and_hint_box_with_no_overlap_is_not_found(street):
    with pytest.raises(NotFoundError) as outside:
        target_from_class_and_box(street, "person", (16, 45, 30, 58), KNOWN)
    assert str(outside.value) == (
        "no 'person' overlaps the selected box (16, 45, 30, 58): the 3 found lie outside it; select around one "
        "of them, or name the class without a box")


def test_a_hint_box_alone_takes_the_best_object_of_any_class(street):
    assert target_from_box(street, (58, 18, 96, 52)).object_ids == (1,)  # the car
    assert target_from_box(street, (0, 0, 20, 45)).object_ids == (2,)
    with pytest.raises(NotFoundError) as nothing:
        target_from_box(street, (16, 45, 30, 58))
    assert str(nothing.value) == "no detected object overlaps the selected box (16, 45, 30, 58); found: car, person"


def test_hint_boxes_are_checked(street):
    with pytest.raises(InvalidInputError, match=r"hint box \(10, 10, 5, 20\) is empty"):
        target_from_box(street, (10, 10, 5, 20))
    with pytest.raises(InvalidInputError, match="must be 4 numbers"):
        target_from_box(street, (1, 2, 3))


def test_object_ids_take_the_union(street):
    target = resolve_target(street, TargetQuery(object_ids=(3, 1, 3)), KNOWN)
    assert target.object_ids == (1, 3)
    assert np.array_equal(target.mask, street[1].mask | street[3].mask)


def test_object_ids_out_of_range(street):
    with pytest.raises(InvalidInputError) as missing:
        target_from_ids(street, [4])
    assert str(missing.value) == ("there is no object 4: the detection found 4 (ids 0 to 3); detect again if the "
                                  "image changed")
    with pytest.raises(InvalidInputError, match="there is no object -1"):
        target_from_ids(street, [-1])
    with pytest.raises(InvalidInputError, match="no objects were detected"):
        target_from_ids([], [0])
    with pytest.raises(InvalidInputError, match="no object id was given"):
        target_from_ids(street, [])


@pytest.mark.parametrize("query, message", [
    (TargetQuery(object_ids=(0,), class_target="person"), "give object ids, or a class and/or a box, not both"),
    (TargetQuery(object_ids=(0,), hint_box=(0, 0, 5, 5)), "give object ids, or a class and/or a box, not both"),
    (TargetQuery(class_target="person:2", hint_box=(0, 0, 5, 5)), "gives an instance number and a box"),
    (TargetQuery(), "the target is empty"),
])
def test_queries_that_name_no_single_way_are_refused(street, query, message):
    with pytest.raises(InvalidInputError, match=message):
        resolve_target(street, query, KNOWN)


def test_resolve_target_dispatches_each_way(street):
    assert resolve_target(street, TargetQuery(class_target="Person"), KNOWN).object_ids == (0, 2, 3)
    assert resolve_target(street, TargetQuery(class_target="person:1"), KNOWN).object_ids == (2,)
    assert resolve_target(street, TargetQuery(class_target="person", hint_box=(62, 10, 85, 45)),
                          KNOWN).object_ids == (3,)
    assert resolve_target(street, TargetQuery(hint_box=(58, 18, 96, 52)), KNOWN).object_ids == (1,)
