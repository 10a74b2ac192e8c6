"""Where to put an object so that requested relations hold: SIMBIL's position model (section 3.2) and a rule
baseline, for the move (relationship change) and add edits.

    from inference_server.placement.predict import PositionPredictor
    from inference_server.placement.vocabulary import PlacementRequest, Triplet
    request = PlacementRequest("red cube", (Triplet("left of", "blue sphere", (0.5, 0.4, 0.62, 0.55)),))
    options = PositionPredictor().candidates(request, 3)   # 3 distinct boxes in 0..1, best first

Modules: vocabulary.py (predicates and their image-plane meaning, classes, the request), satisfaction.py (does a
box satisfy a relation), rules.py (the rule baseline), position_model.py (the LSTM, its config, its loss),
predict.py (the shipped model: ranked, diverse candidates), training_data.py (samples from the synthetic scene
generator), evaluation.py (box errors and satisfaction shares). Boxes are (x0, y0, x1, y1) in 0..1 of the image.
This package file imports nothing: vocabulary, satisfaction and rules load without torch.
"""
