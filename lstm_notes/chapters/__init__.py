"""Chapters layer (layer 4): the helpers of the book's parts, built on the models.

``calculus``     part 1's worked examples (affine maps, layouts, element-wise Jacobians)
``stacked``      the LSTM step in source 000's stacked-gate form, z = W [x; h]
``training``     the delayed-copy task and an Adam loop for the LSTM training page
``vanishing``    BPTT term by term, products of step Jacobians, norm bounds
``carousel``     the LSTM state Jacobian and the carousel's cell path
``experiments``  gradient norm against lag, the long-lag task trained on two models
``timing``       timing the attention RNN's gradient forms (the cost page, `make bench`)
``plotting``     the plots' one style, SVG output and alt text made from the plotted data
"""
