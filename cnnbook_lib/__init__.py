"""cnnbook_lib: the tested library behind the book "Convolutional networks by the numbers".

Shapes, parameters, MACs/FLOPs, memory and receptive fields of convolutional networks, derived
once as sympy expressions (:mod:`cnnbook_lib.formulas`) and used everywhere else.
"""
__version__ = "0.1.0"
