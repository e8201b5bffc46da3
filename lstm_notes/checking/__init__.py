"""Checking layer (layer 1): numerical differentiation, the book's one check, and the
input checks of every public entry point. It knows nothing of the models.

``numdiff``   central differences, the complex step, directional derivatives, Jacobians
``check``     ``check(label, analytic, numeric)``, ``erratum(...)``, ``holds(...)``
``validate``  float64, finite, shapes by size name; errors that name the culprit
"""
