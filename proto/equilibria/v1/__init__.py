"""The equilibria v1 wire API.

The ``*_pb2*`` modules are generated (do not edit): regenerate them with
``python tools/gen_protos.py`` after changing a ``.proto`` file. :mod:`codec` is written
by hand: the one tensor codec and enum-name table that the client and the service share.
"""
