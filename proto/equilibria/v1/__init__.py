"""The equilibria v1 wire API: generated protobuf and gRPC code (do not edit).

Regenerate with ``python tools/gen_protos.py`` after changing a ``.proto`` file.
"""
