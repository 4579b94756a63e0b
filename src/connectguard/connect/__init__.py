"""Connect knowledge: the descriptor, endpoint roles, URLs as Connect builds them, and tokens.

Nothing here sends a request: probes use it to decide what to send and how to sign it.
"""
