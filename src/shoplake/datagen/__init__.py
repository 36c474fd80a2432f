"""Building blocks of the deterministic synthetic data generator (``shoplake generate``).

The public entry point is :func:`shoplake.generate.generate`; this package holds the
vocabulary (:mod:`.vocab`), the customer/product catalogues (:mod:`.entities`) and the
order lines (:mod:`.orders`).
"""
